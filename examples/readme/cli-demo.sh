npm run maintenance-mode -- on --message "Upgrading the database" --end +1h
npm run maintenance-mode -- status
npm run maintenance-mode -- off                       # (installed as a dependency: npx maintenance-mode …)
echo 1 > maintenance_mode_state.json                  # works too: django-maintenance-mode's file format
