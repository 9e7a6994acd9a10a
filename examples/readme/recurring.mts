// The README's recurring windows. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import { MaintenanceService } from 'koa-maintenance-mode';

const service = new MaintenanceService({ store: new Keyv() });
// #region readme
await service.addWindow({
  id: 'sunday-upkeep',
  rrule: 'FREQ=WEEKLY;BYDAY=SU',        // RFC 5545: also BYDAY=2TU, BYMONTHDAY=-1, COUNT, UNTIL, INTERVAL, BYMONTH…
  tz: 'Europe/Berlin',                  // 03:00 Berlin time all year: 02:00Z in winter, 01:00Z in summer
  start: '03:00',                       // local time in tz, from today on (or a first date: YYYY-MM-DDTHH:MM)
  durationMinutes: 30,
  message: 'Weekly upkeep, back at 03:30.',
});
for (const o of service.upcoming({ count: 3 })) console.log(o.window.id, o.start.toISOString(), o.end.toISOString());
// #endregion
const next = service.upcoming({ count: 3 });
assert.equal(next.length, 3);
for (const o of next) {
  const local = o.start.toLocaleString('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit' });
  assert.equal(local, 'Sun 03:00');
}
await service.removeWindow('sunday-upkeep');
await service.close();
