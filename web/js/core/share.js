// The short link an officer sends a company: the layer, the requirement and the shortlist,
// deflated and written in base64url into one hash parameter (`#s=...`), so the link carries
// everything and the server keeps nothing. It names no language: the recipient's browser
// chooses. Opened, it shows the match tab with the shortlist's answer and the map around the
// shortlisted carriers. Pure (CompressionStream exists in browsers and in Node 18+): the node
// unit tests check it.

/** The longest link code read back (a requirement is a few hundred bytes deflated), and the
 * most it may inflate to. */
export const MAX_CODE = 8192;
export const MAX_JSON = 65536;

const toBase64Url = (bytes) => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const fromBase64Url = (text) => {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
};

async function through(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/** The code for `{subject, requirement, shortlist}`. */
export async function pack({ subject, requirement, shortlist }) {
  const json = JSON.stringify({ l: subject, r: requirement, s: shortlist });
  return toBase64Url(await through(new TextEncoder().encode(json), new CompressionStream('deflate-raw')));
}

/** The state a code stands for, or null for a code that is damaged or not one of ours. */
export async function unpack(code) {
  if (typeof code !== 'string' || !code || code.length > MAX_CODE || !/^[A-Za-z0-9_-]+$/.test(code)) return null;
  try {
    const bytes = await through(fromBase64Url(code), new DecompressionStream('deflate-raw'));
    if (bytes.length > MAX_JSON) return null;
    const json = new TextDecoder().decode(bytes);
    const v = JSON.parse(json);
    if (!v || typeof v !== 'object' || typeof v.l !== 'string' || !v.r || typeof v.r !== 'object' || Array.isArray(v.r)) return null;
    const shortlist = Array.isArray(v.s) ? v.s.map(String).slice(0, 100) : [];
    return { subject: v.l, requirement: v.r, shortlist, tab: 'match' };
  } catch {
    return null;
  }
}

/** The link for a code: this page's address with only the code in its hash. */
export function linkFor(href, code) {
  return `${href.split('#')[0]}#s=${code}`;
}
