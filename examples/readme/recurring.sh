npx maintenance-mode window add --id month-end --rrule "FREQ=MONTHLY;BYMONTHDAY=-1" --tz America/New_York \
  --start 22:00 --duration 1h --message "Month-end closing"
npx maintenance-mode window list
npx maintenance-mode upcoming --count 5           # the next occurrences, in UTC and in each window's zone
npx maintenance-mode window rm month-end
