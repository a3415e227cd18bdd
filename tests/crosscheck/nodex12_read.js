#!/usr/bin/env node
// Reads an X12 file with node-x12's parser in strict mode and prints one line per segment.
// Exit 0 when it reads cleanly; exit 2 with the parser's complaint on stderr otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const home = path.resolve(process.env.CROSSCHECK_HOME || path.join(__dirname, '..', '..', '.build', 'crosscheck'));
const { X12Parser } = require(path.join(home, 'node_modules', 'node-x12'));

let text = fs.readFileSync(process.argv[2], 'latin1');
try {
  const parsed = new X12Parser(true).parse(text);
  const interchanges = parsed.interchanges ? Array.from(parsed.interchanges) : [parsed];
  for (const interchange of interchanges) {
    console.log(interchange.header.toString());
    for (const group of interchange.functionalGroups) {
      console.log(group.header.toString());
      for (const set of group.transactions) {
        console.log(set.header.toString());
        for (const segment of set.segments) console.log(segment.toString());
        console.log(set.trailer.toString());
      }
      console.log(group.trailer.toString());
    }
    console.log(interchange.trailer.toString());
  }
} catch (err) {
  console.error(`node-x12: ${err.name}: ${err.message}`);
  process.exit(2);
}
