npm test          # tsc (dist, src + test + examples → build/) then mocha; tsx is not used: it drops decorator metadata
npx mocha build/test/decide.test.js    # one test file, after npm test (or npm run pretest) has compiled it
npm test -- --grep "hold and release"  # the tests whose names match
npm run lint      # Biome
npm run build     # dist/ for publishing
npm run docs      # the API reference from the JSDoc, into docs/api/ (TypeDoc)
npm run readme    # after editing an example under examples/readme/: copy it into its README block
npm run bench     # CPU and throughput against bare Koa (a few minutes); bench:scale, bench:hold, bench:hostile
