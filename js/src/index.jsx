import { PluginComponentType, registerComponent } from "@fiftyone/plugins";
import GridMosaicView from "./GridMosaicView";

registerComponent({
  name: "GridMosaicView",
  label: "GridMosaicView",
  component: GridMosaicView,
  type: PluginComponentType.Component,
  activator: () => true,
});
