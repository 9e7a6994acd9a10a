npm install && npm start     # the demo app on http://127.0.0.1:3000 (PORT=3001 npm start for another port)
npm test                     # compiles with tsc, runs the mocha suite, ends with "N passed, N failed"
