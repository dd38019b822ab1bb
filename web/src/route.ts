/**
 * The PWA's pages and their paths. `/rooms/{roomId}/machines/{machineId}` is where a push
 * notification leads (functions/src/domain/messages.ts notificationLink). Pure.
 */
export type Route =
  | { page: "board"; roomId: string | null; machineId: string | null }
  | { page: "inbox" }
  | { page: "stats"; roomId: string | null }
  | { page: "me" }
  | { page: "admin" }
  | { page: "notFound" };

export function parseRoute(pathname: string, search = ""): Route {
  let parts: string[];
  try {
    parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return { page: "notFound" };
  }
  const room = new URLSearchParams(search).get("room");
  if (parts.length === 0) return { page: "board", roomId: null, machineId: null };
  if (parts[0] === "rooms" && parts.length === 2)
    return { page: "board", roomId: parts[1], machineId: null };
  if (parts[0] === "rooms" && parts.length === 4 && parts[2] === "machines")
    return { page: "board", roomId: parts[1], machineId: parts[3] };
  if (parts.length === 1 && parts[0] === "inbox") return { page: "inbox" };
  if (parts.length === 1 && parts[0] === "stats") return { page: "stats", roomId: room };
  if (parts.length === 1 && parts[0] === "me") return { page: "me" };
  if (parts.length === 1 && parts[0] === "admin") return { page: "admin" };
  return { page: "notFound" };
}
