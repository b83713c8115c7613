"""The FiftyOne layer: fields, run records, models and the pipeline on datasets."""
