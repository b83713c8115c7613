"""The plugin's name and its operators' URIs, spelled once.

The name is also the ``name`` of ``fiftyone.yml`` (a test holds them equal).
"""

PLUGIN = "@gridtsne/gridded-tsne"


def uri(operator):
    return "%s/%s" % (PLUGIN, operator)


COMPUTE_GRID = uri("compute_grid")
EMBED_SHARD = uri("embed_shard")
OPEN_GRID_PANEL = uri("open_grid_panel")
