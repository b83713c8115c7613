// The panel's buttons and dropdowns as the App's own: Material UI components
// from the App (window.__mui__, which FiftyOne defines for plugins) under the
// App's theme, so they look and behave like the built-in panels' controls.
// An App without it gets plain HTML controls in the same colours.
import React from "react";
import { BUTTON } from "./appState";

const mui = () => (typeof window !== "undefined" && window.__mui__) || null;

/** A small button; `active` draws it pressed (a mode that is on). */
export function Btn({ active = false, children, style, ...props }) {
  const m = mui();
  if (m && m.Button) {
    return (
      <m.Button
        size="small"
        variant={active ? "contained" : "outlined"}
        color={active ? "primary" : "inherit"}
        aria-pressed={active}
        sx={{ textTransform: "none", minWidth: 0, px: 1, py: 0, lineHeight: 1.6, ...style }}
        {...props}
      >
        {children}
      </m.Button>
    );
  }
  const look = active ? { background: "#555", borderColor: "#ddd" } : {};
  return (
    <button style={{ ...BUTTON, ...look, ...style }} aria-pressed={active} {...props}>
      {children}
    </button>
  );
}

/** A native <select> (keyboard and tests alike) in the App's input style. */
export function Choice({ value, onChange, onFocus, testid, title, children }) {
  const m = mui();
  if (m && m.NativeSelect) {
    return (
      <m.NativeSelect
        value={value}
        onChange={onChange}
        onFocus={onFocus}
        title={title}
        size="small"
        disableUnderline={false}
        sx={{ fontSize: 13 }}
        inputProps={{ "data-testid": testid }}
      >
        {children}
      </m.NativeSelect>
    );
  }
  return (
    <select value={value} onChange={onChange} onFocus={onFocus} title={title}
      style={{ ...BUTTON, padding: "2px 4px" }} data-testid={testid}>
      {children}
    </select>
  );
}

// 24 x 24 outline paths for the toolbar's icon buttons (drawn for this panel)
export const ICONS = {
  refresh: "M12 5V2L8 6l4 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z",
  pan: "M12 2l3 3h-2v4h-2V5H9l3-3zm0 20l-3-3h2v-4h2v4h2l-3 3zM2 12l3-3v2h4v2H5v2l-3-3zm20 0l-3 3v-2h-4v-2h4V9l3 3z",
  box: "M3 3h4v2H5v2H3V3zm6 0h6v2H9V3zm8 0h4v4h-2V5h-2V3zM3 9h2v6H3V9zm16 0h2v6h-2V9zM3 17h2v2h2v2H3v-4zm6 2h6v2H9v-2zm10-2h2v4h-4v-2h2v-2z",
  lasso: "M12 4C7 4 3 6.7 3 10s4 6 9 6 9-2.7 9-6-4-6-9-6zm0 10c-3.9 0-7-1.8-7-4s3.1-4 7-4 7 1.8 7 4-3.1 4-7 4zM8 15.5L6.5 21l2-.8 1.2-4.2z",
  zoomIn: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z",
  zoomOut: "M5 11h14v2H5z",
  fit: "M3 3h6v2H5v4H3V3zm12 0h6v6h-2V5h-4V3zM3 15h2v4h4v2H3v-6zm16 0h2v6h-6v-2h4v-4z",
};

/** A button showing an icon; `label` names it (its tooltip and accessible name). */
export function IconBtn({ icon, label, active = false, ...props }) {
  const m = mui();
  const path = <path d={ICONS[icon]} />;
  if (m && m.IconButton && m.SvgIcon) {
    const button = (
      <m.IconButton size="small" aria-label={label} aria-pressed={active}
        color={active ? "primary" : "default"} sx={{ p: "3px" }} {...props}>
        <m.SvgIcon fontSize="small">{path}</m.SvgIcon>
      </m.IconButton>
    );
    return m.Tooltip ? <m.Tooltip title={label}>{button}</m.Tooltip> : button;
  }
  return (
    <Btn active={active} aria-label={label} title={label} {...props}>
      <svg width="16" height="16" viewBox="0 0 24 24" fill="currentColor">{path}</svg>
    </Btn>
  );
}
