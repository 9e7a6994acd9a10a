npx maintenance-mode on --message "Deploying version 42"
mkdir -p maintenance && npx maintenance-mode render --out maintenance/maintenance.html --json-out maintenance/maintenance.json
npx maintenance-mode render --locale de --out maintenance/maintenance.de.html   # another language
