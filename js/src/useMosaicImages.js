// The mosaic's pixels: the mosaic (or a pyramid's overview) once per run
// version, its Deep Zoom tiles and, zoomed past them, the cells' own images,
// each loaded lazily and kept in a bounded cache; a load asks for a redraw.
import { useCallback, useEffect, useRef, useState } from "react";
import { lruGet, mediaUrl } from "./appState";

const MAX_TILES = 400; // tiles kept in memory
const MAX_IMAGES = 600; // full images kept in memory

export function useMosaicImages({ grid, version, info, redrawRef }) {
  const tileCache = useRef(new Map());
  const imageCache = useRef(new Map());
  // another run, or this one written again: its tiles are other pixels
  useEffect(() => {
    tileCache.current = new Map();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.key, version, grid && grid.rows, grid && grid.cols]);
  // the mosaic (or the pyramid's overview), loaded once per run version
  const [overview, setOverview] = useState(null);
  useEffect(() => {
    if (!grid) {
      setOverview(null);
      return undefined;
    }
    const img = new Image();
    img.onload = () => redrawRef.current();
    img.src = mediaUrl(grid.mosaic_path, grid.version);
    setOverview(img);
    return () => {
      img.onload = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.mosaic_path, version]);

  const getTile = useCallback(
    (lv, tx, ty) => {
      const t = grid.tiles;
      return lruGet(
        tileCache.current,
        `${lv}/${tx}_${ty}`,
        () => {
          const img = new Image();
          img.onload = () => redrawRef.current();
          img.src = mediaUrl(`${t.files_dir}/${lv}/${tx}_${ty}.jpg`, grid.version);
          return img;
        },
        MAX_TILES
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [grid]
  );
  // a cell's own image once zoomed past the mosaic's pixels
  const sharpImage = useCallback(
    (cell) => {
      const it = info.get(cell);
      if (!it || !it.filepath) return null;
      const img = lruGet(
        imageCache.current,
        it.filepath,
        () => {
          const im = new Image();
          im.onload = () => redrawRef.current();
          // an image that cannot load is left to the mosaic's pixels
          im.onerror = () => {
            im.failed = true;
            redrawRef.current();
          };
          im.src = mediaUrl(it.filepath);
          return im;
        },
        MAX_IMAGES
      );
      if (img.failed) return { skip: true };
      return img.complete && img.naturalWidth ? { img, box: it.box } : null;
    },
    [info]
  );

  return { overview, getTile, sharpImage };
}
