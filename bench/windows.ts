/** The 100 recurring windows of the benchmarks' `off-100-windows` / `off-windows` rows (#20, #23). */
import type { MaintenanceService } from '../src/index.js';

/**
 * Defines 100 weekly windows of 5 minutes on `service`, spread over the week's early mornings in Europe/Berlin, half
 * of them for one tenant each: the next occurrence is within the announce horizon, so a scheduled state is in force.
 */
export async function addHundredWindows(service: MaintenanceService): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const day = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][i % 7];
    await service.addWindow({
      rrule: `FREQ=WEEKLY;BYDAY=${day}`,
      tz: 'Europe/Berlin',
      start: `0${i % 6}:${10 + (i % 50)}`,
      durationMinutes: 5,
      ...(i % 2 ? { scope: `tenant-${i}` } : {}),
    });
  }
}
