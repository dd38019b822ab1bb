import { describe, expect, it } from "vitest";
import {
  type MessageMachine,
  brokenAdminMessage,
  finishedMessage,
  notificationLink,
  offerMessage,
  offlineAdminMessage,
  resolveLocale,
  roomFinishedMessage,
} from "../../functions/src/domain/messages";

const washer: MessageMachine = { id: "3", name: "세탁기 3", type: "washer" };
const dryer: MessageMachine = { id: "5", name: "건조기 5", type: "dryer" };

describe("finishedMessage", () => {
  it("tells a washer's watcher in Korean that the wash is done", () => {
    expect(finishedMessage(washer, "ko")).toEqual({
      title: "세탁 완료!",
      body: "세탁기 3의 세탁이 끝났어요. 빨래를 꺼내 주세요.",
    });
  });

  it("uses drying wording for a dryer", () => {
    const text = finishedMessage(dryer, "ko");
    expect(text.title).toBe("건조 완료!");
    expect(text.body).toContain("건조기 5의 건조가 끝났어요");
    expect(text.body).not.toContain("세탁");
  });

  it("is Korean when the user has no locale", () => {
    expect(finishedMessage(washer, resolveLocale(undefined))).toEqual(
      finishedMessage(washer, "ko"),
    );
  });

  it("speaks English to an English user", () => {
    expect(finishedMessage({ ...washer, name: "Washer 3" }, "en")).toEqual({
      title: "Wash finished!",
      body: "Washer 3 has finished washing. Please take your laundry out.",
    });
    expect(finishedMessage({ ...dryer, name: "Dryer 5" }, "en").title).toBe("Drying finished!");
  });

  it("names an unnamed machine by its type and id in the user's language", () => {
    expect(finishedMessage({ id: "4", type: "washer", name: "" }, "ko").body).toContain(
      "세탁기 4의",
    );
    expect(finishedMessage({ id: "6", type: "dryer" }, "en").body).toMatch(
      /^Dryer 6 has finished drying/,
    );
  });
});

describe("roomFinishedMessage", () => {
  it("tells a room subscriber which machine will be free, with the room's name", () => {
    const text = roomFinishedMessage(washer, "ko", "A동 세탁실");
    expect(text.title).toBe("세탁기 3 세탁 완료");
    expect(text.body).toBe("A동 세탁실 세탁기 3의 세탁이 끝났어요. 곧 사용할 수 있어요.");
  });

  it("has dryer and English variants", () => {
    expect(roomFinishedMessage(dryer, "ko", null).title).toBe("건조기 5 건조 완료");
    expect(roomFinishedMessage({ ...dryer, name: "Dryer 5" }, "en", "Block A")).toEqual({
      title: "Dryer 5: drying finished",
      body: "Dryer 5 in Block A has finished drying and will be free soon.",
    });
  });
});

describe("offerMessage", () => {
  it("gives the claim window in minutes", () => {
    expect(offerMessage(washer, 10, "ko")).toEqual({
      title: "내 차례예요!",
      body: "세탁기 3 사용 차례예요. 10분 안에 사용을 시작하지 않으면 다음 분께 넘어가요.",
    });
    expect(offerMessage({ ...washer, name: "Washer 3" }, 10, "en").body).toContain(
      "within 10 minutes",
    );
    expect(offerMessage({ ...washer, name: "Washer 3" }, 1, "en").body).toContain(
      "within 1 minute ",
    );
  });
});

describe("admin messages", () => {
  it("says which sensor went silent and when it was last heard", () => {
    expect(offlineAdminMessage(washer, "14:05", "ko")).toEqual({
      title: "센서 연결 끊김",
      body: "세탁기 3(#3) 센서의 신호가 끊겼어요. 마지막 신호: 14:05.",
    });
    expect(offlineAdminMessage(washer, "14:05", "en").body).toBe(
      "세탁기 3 (#3) stopped reporting. Last seen: 14:05.",
    );
  });

  it("carries the reported reason of a breakdown, and reads well without one", () => {
    expect(brokenAdminMessage(dryer, "문이 안 닫혀요", "ko").body).toBe(
      "건조기 5(#5) 고장 신고가 들어왔어요: 문이 안 닫혀요",
    );
    expect(brokenAdminMessage(dryer, "  ", "ko").body).toBe("건조기 5(#5) 고장 신고가 들어왔어요.");
    expect(brokenAdminMessage({ ...dryer, name: "Dryer 5" }, "door", "en")).toEqual({
      title: "Breakdown reported",
      body: "Dryer 5 (#5) was reported broken: door",
    });
  });
});

describe("resolveLocale", () => {
  it("picks English for en and its regional forms and Korean for anything else", () => {
    expect(resolveLocale("en")).toBe("en");
    expect(resolveLocale("en-US")).toBe("en");
    expect(resolveLocale("EN_gb")).toBe("en");
    expect(resolveLocale("ko")).toBe("ko");
    expect(resolveLocale("ja")).toBe("ko");
    expect(resolveLocale(undefined)).toBe("ko");
    expect(resolveLocale(42)).toBe("ko");
  });
});

describe("notificationLink", () => {
  it("links to the room page, whatever the trailing slash of the app URL", () => {
    expect(notificationLink("https://washcall.example", "1")).toBe(
      "https://washcall.example/rooms/1",
    );
    expect(notificationLink("https://washcall.example/", "1")).toBe(
      "https://washcall.example/rooms/1",
    );
  });

  it("links to the machine on its room's board when the notification is about a machine", () => {
    expect(notificationLink("https://washcall.example/", "1", "2")).toBe(
      "https://washcall.example/rooms/1/machines/2",
    );
  });

  it("escapes the room id", () => {
    expect(notificationLink("https://washcall.example", "a b/c")).toBe(
      "https://washcall.example/rooms/a%20b%2Fc",
    );
  });
});
