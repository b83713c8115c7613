"""The FiftyOne-free core: arrays in, arrays out.

Everything here works on plain numpy arrays, file paths and PIL images so that
it can be tested, benchmarked and reused without a database. The FiftyOne
layer (:mod:`gridtsne.fo`) calls into it; nothing here calls back.
"""
