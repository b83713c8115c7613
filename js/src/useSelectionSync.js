// The App sends each change of its selection to the Python session as it
// happens, and two changes close together (a click then a ctrl-click, the two
// clicks of a double-click) can reach the session in the wrong order, leaving
// Python an older selection than the App shows; opening a sample in the modal
// can do the same. Once a selection the panel made has been still for a
// moment (or the modal closes), it is sent once more: a copy, since the App
// sends only a new object, so the last one is the one that lands.
import { useCallback, useEffect, useRef } from "react";
import { copySelection } from "./appState";

const RESEND_SELECTION_MS = 400;

export function useSelectionSync(selected, setAppSelected) {
  const ownChange = useRef(false);
  const resent = useRef(null);
  const setSelected = useCallback((next) => {
    ownChange.current = true;
    setAppSelected(next);
  }, [setAppSelected]);
  const resendSelection = useCallback((current) => {
    ownChange.current = false;
    resent.current = copySelection(current);
    setAppSelected(resent.current);
  }, [setAppSelected]);
  useEffect(() => {
    if (!ownChange.current || !selected || selected === resent.current) return undefined;
    const timer = setTimeout(() => resendSelection(selected), RESEND_SELECTION_MS);
    return () => clearTimeout(timer);
  }, [selected, resendSelection]);
  return { setSelected, resendSelection };
}
