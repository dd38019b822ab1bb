/**
 * Cleaning a model's answer into one short plain sentence: markup, markdown, quotes and emoji
 * stripped, whitespace collapsed, only the first sentence of the first paragraph kept, length
 * capped. Pure.
 */

/** The longest sentence kept, in characters. */
const MAX_LENGTH = 120;

const EMOJI =
  /[\p{Extended_Pictographic}\p{Regional_Indicator}\u{1F3FB}-\u{1F3FF}\u{FE0F}\u{FE0E}\u{200D}\u{20E3}]/gu;
const QUOTES = /["“”„«»「」『』〈〉《》]/g;
const LABEL = /^(?:tip|answer|suggestion|팁|답변|추천|조언)\s*[:：]\s*/i;
const LIST_ITEM = /^\s*(?:[-*+•]|\d+[.)])\s+/;
const HEADING = /^\s{0,3}#{1,6}\s+/;
/** A line that is only bold text, used as a title ("**추천 시간**"). */
const BOLD_TITLE = /^\s*(\*\*|__)[^*_]+\1\s*:?\s*$/;
const RULE = /^\s*([-*_=])(?:\s*\1){2,}\s*$/;
const FENCE = /^\s*(?:```|~~~)/;

/** Markdown and markup removed from one line. */
function cleanLine(line: string): string {
  return line
    .replace(/<[^>]*>/g, " ") // HTML tags
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1") // images
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1") // links
    .replace(/^\s{0,3}>+\s?/, "") // blockquote
    .replace(HEADING, "")
    .replace(LIST_ITEM, "")
    .replace(/\*\*|__|~~|`+/g, "") // bold, strike, code
    .replace(/(^|[\s(])_([^_\s][^_]*?)_(?=[\s).,!?]|$)/g, "$1$2") // _italic_
    .replace(/\*/g, "") // *italic* and stray asterisks
    .replace(EMOJI, "")
    .replace(QUOTES, "")
    .replace(/\s+/g, " ")
    .trim();
}

interface Block {
  heading: boolean;
  lines: string[];
}

/** Paragraphs, list items and headings of a markdown-ish text, in order. */
function blocksOf(text: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | null = null;
  for (const line of text.split("\n")) {
    if (line.trim() === "" || RULE.test(line) || FENCE.test(line)) {
      current = null; // code fences are dropped, their content kept
    } else if (HEADING.test(line) || BOLD_TITLE.test(line)) {
      blocks.push({ heading: true, lines: [line] });
      current = null;
    } else if (LIST_ITEM.test(line) || !current) {
      current = { heading: false, lines: [line] };
      blocks.push(current);
    } else {
      current.lines.push(line);
    }
  }
  return blocks;
}

/** The first sentence of `text` (terminator kept); a decimal point does not end a sentence. */
function firstSentence(text: string): string {
  const end = /[.!?。！？](?=\s|$)/u.exec(text);
  return end ? text.slice(0, end.index + 1) : text;
}

function cap(text: string): string {
  if (text.length <= MAX_LENGTH) return text;
  const cut = text.slice(0, MAX_LENGTH - 1);
  const space = cut.lastIndexOf(" ");
  const base = space >= MAX_LENGTH / 2 ? cut.slice(0, space) : cut;
  return `${base.replace(/[\s,;:·-]+$/u, "")}…`;
}

const hasLetters = (s: string) => /\p{L}/u.test(s);

/**
 * One plain sentence of at most {@link MAX_LENGTH} characters from a model's raw answer, or null when
 * nothing usable (no letters) is left. A heading (or a bold title line) is skipped when a
 * paragraph follows it.
 */
export function sanitizeTip(raw: string): string | null {
  const candidates = blocksOf(raw.replace(/\r\n?/g, "\n"))
    .map((b) => ({
      heading: b.heading,
      text: b.lines
        .map(cleanLine)
        .filter((l) => l !== "")
        .join(" "),
    }))
    .filter((c) => hasLetters(c.text));
  const chosen = candidates.find((c) => !c.heading) ?? candidates[0];
  if (!chosen) return null;
  const unlabelled = chosen.text
    .replace(LABEL, "")
    .replace(/^['‘’]+|['‘’]+$/g, "")
    .trim();
  const sentence = firstSentence(unlabelled);
  if (!hasLetters(sentence)) return null;
  return cap(sentence);
}
