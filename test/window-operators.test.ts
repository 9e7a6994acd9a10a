import { expect } from 'chai';
import { MaintenanceError } from '../src/index.js';
import { memoryService } from './helpers/app.js';

describe('recurring windows as operators define them', () => {
  it('accepts every zone the IANA database names, in any case, and stores its canonical spelling', async () => {
    const s = memoryService();
    const add = (id: string, tz: string) =>
      s.addWindow({ id, rrule: 'FREQ=WEEKLY;BYDAY=SU', tz, start: '03:00', durationMinutes: 30 });
    expect((await add('lower', 'europe/berlin')).tz).to.equal('Europe/Berlin');
    expect((await add('link', 'US/Pacific')).tz).to.equal('America/Los_Angeles');
    expect((await add('cet', 'CET')).tz).to.match(/^(CET|Europe\/\w+)$/);
    expect((await s.windows()).map((w) => w.tz)).to.deep.equal([
      'Europe/Berlin',
      'America/Los_Angeles',
      (await s.windows())[2]?.tz,
    ]);
    for (const tz of ['Mars/Olympus', '+01:00', '']) {
      const err = await add('bad', tz).catch((e) => e);
      expect(err, tz).to.be.instanceOf(MaintenanceError);
      expect(err.message).to.match(/^tz must be an IANA time zone/);
    }
  });
});
