// The App sends each change of its selection to the Python session as it
// happens, and two changes close together (a click then a ctrl-click, the two
// clicks of a double-click) can reach the session in the wrong order, leaving
// Python an older selection than the App shows; opening a sample in the modal
// can do the same. Once a selection the panel made has been still for a
// moment (or the modal closes), it is sent once more: a copy, since the App
// sends only a new object, so the last one is the one that lands.
//
// Only the panel's own selection is re-sent, and never once the view has
// moved: the App clears its selection when the view changes, and a re-send
// then would be a state change of the App's racing the view the Python
// session is setting (it could send the old view back).
import { useCallback, useEffect, useRef } from "react";
import { copySelection, selectionKey } from "./appState";

const RESEND_SELECTION_MS = 400;

export function useSelectionSync(selected, setAppSelected, viewKey) {
  const wanted = useRef(null); // the key of the selection the panel made, until re-sent
  const resent = useRef(null);
  const setSelected = useCallback((next) => {
    wanted.current = selectionKey(next);
    setAppSelected(next);
  }, [setAppSelected]);
  const resendSelection = useCallback((current) => {
    wanted.current = null;
    resent.current = copySelection(current);
    setAppSelected(resent.current);
  }, [setAppSelected]);
  useEffect(() => {
    wanted.current = null; // a new view: the panel's selection is the past
  }, [viewKey]);
  useEffect(() => {
    if (!selected || selected === resent.current) return undefined;
    if (wanted.current === null || selectionKey(selected) !== wanted.current) return undefined;
    const timer = setTimeout(() => {
      if (wanted.current !== null) resendSelection(selected);
    }, RESEND_SELECTION_MS);
    return () => clearTimeout(timer);
  }, [selected, resendSelection, viewKey]);
  return { setSelected, resendSelection };
}
