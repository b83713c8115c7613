"""The plugin's operators, by purpose: pipeline (compute, regrid, update,
panel, delete), curation; forms built from GridConfig; the shared run tail."""

from gridtsne.fo.app.curation import (DiverseSubset, FindDuplicates, RelabelSelected,
                                      UndoRelabel)
from gridtsne.fo.app.pipeline import (ComputeGrid, ComputeGridEmbeddings, DeleteGrid,
                                      EmbedShard, OpenGridPanel, Regrid, UpdateGrid)

OPERATORS = [ComputeGrid, ComputeGridEmbeddings, Regrid, UpdateGrid, OpenGridPanel,
             DeleteGrid, FindDuplicates, RelabelSelected, UndoRelabel, DiverseSubset,
             EmbedShard]
