/** A modal `<dialog>` (focus trapped and Escape handled by the browser), open while mounted. */
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={id} onClose={props.onClose} class="dialog">
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}
