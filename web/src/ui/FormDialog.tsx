/**
 * A modal form: its fields, the server's error when the request fails, submit and cancel.
 * `submit` resolves with the message to show once it worked.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useApp } from "../app";
import { Dialog } from "./Dialog";

export function FormDialog(props: {
  title: string;
  submitLabel: string;
  submit: () => Promise<string>;
  onClose: () => void;
  onDone: (message: string) => void;
  children: ComponentChildren;
}) {
  const { t } = useApp();
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props
            .submit()
            .then(props.onDone)
            .catch((err: unknown) => setError((err as Error).message));
        }}
      >
        {props.children}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="primary">
            {props.submitLabel}
          </button>
          <button type="button" onClick={props.onClose}>
            {t("cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
