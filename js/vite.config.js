// A UMD library whose imports of the App's packages resolve to the globals the
// FiftyOne App defines for plugins, so the bundle needs nothing from npm at run
// time (the @fiftyone/* packages are not published there).
import { resolve } from "path";
import { defineConfig } from "vite";

const globals = {
  react: "React",
  recoil: "recoil",
  "@fiftyone/plugins": "__fop__",
  "@fiftyone/operators": "__foo__",
  "@fiftyone/state": "__fos__",
  "@fiftyone/spaces": "__fosp__",
};

export default defineConfig({
  esbuild: { jsx: "transform", jsxFactory: "React.createElement", jsxFragment: "React.Fragment" },
  define: { "process.env.NODE_ENV": '"production"' },
  build: {
    outDir: resolve(__dirname, "..", "dist"),
    emptyOutDir: true,
    minify: false,
    lib: {
      entry: resolve(__dirname, "src", "index.jsx"),
      name: "gridtsne",
      formats: ["umd"],
      fileName: () => "index.umd.js",
    },
    rollupOptions: {
      external: Object.keys(globals),
      output: { globals },
    },
  },
});
