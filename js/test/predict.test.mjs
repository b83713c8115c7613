// node --test: what predict.js says a sidebar filter keeps, against what
// FiftyOne's App server (fiftyone/server/view.py) makes of the same filter on
// a classification field: a match on the label, and FilterLabels.
import assert from "node:assert/strict";
import test from "node:test";

import { NO_CATEGORY } from "../src/cells.js";
import { choosesSamplesOnly, countOf, predictFilters } from "../src/predict.js";

// cells 0..5: car, bus, car, no label, (other), empty cell
const coloring = {
  field: "ground_truth.label",
  kind: "categorical",
  categories: ["bus", "car", "(other)"],
  codes: Uint16Array.from([1, 0, 1, NO_CATEGORY, 2, NO_CATEGORY]),
};
const occupied = Uint8Array.from([1, 1, 1, 1, 1, 0]);
const keep = (filters, base = occupied, c = coloring) => {
  const mask = predictFilters(filters, base, c);
  return mask && Array.from(mask);
};

test("a label filter keeps the samples whose label it names", () => {
  assert.deepEqual(keep({ "ground_truth.label": { values: ["car"], exclude: false, isMatching: false } }), [1, 0, 1, 0, 0, 0]);
  // "show samples with" (isMatching): the same samples
  assert.deepEqual(keep({ "ground_truth.label": { values: ["car", "bus"], exclude: false, isMatching: true } }), [1, 1, 1, 0, 0, 0]);
});

test("excluding labels keeps every sample; omitting samples with them keeps the others", () => {
  assert.deepEqual(keep({ "ground_truth.label": { values: ["car"], exclude: true, isMatching: false } }), [1, 1, 1, 1, 1, 0]);
  // $nin: no label and the rare values are kept too
  assert.deepEqual(keep({ "ground_truth.label": { values: ["car"], exclude: true, isMatching: true } }), [0, 1, 0, 1, 1, 0]);
});

test("filters narrow the view's own cells, and each other", () => {
  const base = Uint8Array.from([0, 1, 1, 1, 1, 0]);
  assert.deepEqual(keep({ "ground_truth.label": { values: ["car"], exclude: false } }, base), [0, 0, 1, 0, 0, 0]);
  const mask = predictFilters({ "ground_truth.label": { values: ["car", "bus"], exclude: false } }, occupied, coloring);
  assert.equal(countOf(mask), 3);
});

test("what cannot be told from the panel's values is left to the server", () => {
  const cases = [
    { "ground_truth.label": { values: ["truck"], exclude: false } }, // maybe among "(other)"
    { "ground_truth.label": { values: ["(other)"], exclude: false } },
    { "ground_truth.label": { values: [null], exclude: false } },
    { "ground_truth.label": { values: [], exclude: false } },
    { "predictions.label": { values: ["car"], exclude: false } }, // not the colour field
    { tags: { values: ["x"], exclude: false } },
    { "ground_truth.label": { values: ["car"], exclude: false }, score: { range: [0, 1] } },
  ];
  for (const filters of cases) assert.equal(keep(filters), null, JSON.stringify(filters));
  assert.equal(predictFilters({ "ground_truth.label": { values: ["car"] } }, occupied, { ...coloring, kind: "continuous" }), null);
  // without "(other)", a value no cell has keeps none
  const named = { ...coloring, categories: ["bus", "car"], codes: Uint16Array.from([1, 0, 1, NO_CATEGORY, 0, NO_CATEGORY]) };
  assert.deepEqual(keep({ "ground_truth.label": { values: ["truck"], exclude: false } }, occupied, named), [0, 0, 0, 0, 0, 0]);
});

test("only views that choose samples leave the labels as the panel has them", () => {
  assert.equal(choosesSamplesOnly([]), true);
  assert.equal(choosesSamplesOnly([{ _cls: "fiftyone.core.stages.Match" }, { _cls: "fiftyone.core.stages.Limit" }]), true);
  assert.equal(choosesSamplesOnly([{ _cls: "fiftyone.core.stages.FilterLabels" }]), false);
});
