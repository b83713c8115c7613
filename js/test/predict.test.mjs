// node --test: what predict.js says a sidebar filter keeps, against what
// FiftyOne's App server (fiftyone/server/view.py) makes of the same filter on
// a classification field: a match on the label, and FilterLabels.
import assert from "node:assert/strict";
import test from "node:test";

import { NO_CATEGORY } from "../src/cells.js";
import { choosesSamplesOnly, countOf, predictFilters, predictView } from "../src/predict.js";

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

test("a view's stages are worked out from the values of the fields they test", () => {
  const score = Float64Array.from([0.1, 0.5, 0.9, Number.NaN, 0.3, Number.NaN]);
  const columns = {
    score: { kind: "continuous", values: score, isNull: (c) => Number.isNaN(score[c]) },
    "gt.label": { kind: "categorical", valueAt: (c) => ["car", "bus", "car", "bus", "car", null][c] },
  };
  const ids = ["a", "b", "c", "d", "e"];
  const run = (cols = columns) => ({
    occupied: Uint8Array.from([1, 1, 1, 0, 1, 0]),
    cellOf: (id) => (ids.indexOf(id) >= 0 ? ids.indexOf(id) : undefined),
    column: (path) => cols[path],
    need: new Set(),
  });
  const match = (expr) => [{ _cls: "fiftyone.core.stages.Match", kwargs: [["filter", { $expr: expr }]] }];
  const keep = (stages, r = run()) => {
    const mask = predictView(stages, r);
    return mask && Array.from(mask);
  };
  assert.deepEqual(keep(match({ $lt: ["$score", 0.4] })), [1, 0, 0, 0, 1, 0]);
  assert.deepEqual(keep(match({ $and: [{ $gt: ["$score", 0.2] }, { $not: { $eq: ["$gt.label", "car"] } }] })), [0, 1, 0, 0, 0, 0]);
  assert.deepEqual(keep(match({ $or: [{ $gte: ["$score", 0.9] }, { $in: ["$gt.label", ["bus"]] }] })), [0, 1, 1, 0, 0, 0]);
  // numbers sort before strings, as in MongoDB
  assert.deepEqual(keep(match({ $lt: ["$score", "a"] })), [1, 1, 1, 0, 1, 0]);
  const select = [{ _cls: "fiftyone.core.stages.Select", kwargs: [["sample_ids", ["a", "c", "zz"]], ["ordered", false]] }];
  assert.deepEqual(keep(select.concat([{ _cls: "fiftyone.core.stages.SortBy", kwargs: [] }])), [1, 0, 1, 0, 0, 0]);
  assert.deepEqual(keep([{ _cls: "fiftyone.core.stages.Exclude", kwargs: [["sample_ids", ["b"]]] }]), [1, 0, 1, 0, 1, 0]);
});

test("a view the values cannot settle is left to the server, and missing values are asked for", () => {
  const score = Float64Array.from([0.1, Number.NaN, 0.9]);
  const cols = { score: { kind: "continuous", values: score, isNull: (c) => Number.isNaN(score[c]) }, tags: null };
  const r = { occupied: Uint8Array.from([1, 1, 1]), cellOf: () => undefined, column: (p) => cols[p], need: new Set() };
  const match = (filter) => [{ _cls: "fiftyone.core.stages.Match", kwargs: [["filter", filter]] }];
  // a sample without a value: MongoDB's answer depends on the operator
  assert.equal(predictView(match({ $expr: { $lt: ["$score", 0.5] } }), r), null);
  // ... unless another part settles it
  const mask = predictView(match({ $expr: { $and: [{ $gt: ["$score", 2] }, { $lt: ["$score", 0.5] }] } }), { ...r, occupied: Uint8Array.from([1, 0, 1]) });
  assert.deepEqual(Array.from(mask), [0, 0, 0]);
  assert.equal(predictView(match({ score: { $gt: 0.5 } }), r), null); // a query document
  assert.equal(predictView(match({ $expr: { $size: "$tags" } }), r), null);
  assert.equal(predictView(match({ $expr: { $eq: ["$tags", "x"] } }), r), null);
  assert.equal(predictView([{ _cls: "fiftyone.core.stages.Limit", kwargs: [["limit", 2]] }], r), null);
  assert.equal(predictView([{ _cls: "fiftyone.core.stages.FilterLabels", kwargs: [] }], r), null);
  assert.equal(predictView(match({ $expr: { $gt: ["$uniqueness", 0.5] } }), r), null);
  assert.deepEqual(Array.from(r.need), ["uniqueness"]);
});
