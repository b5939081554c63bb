// Responsive images for autoload: which file an element wants, from its
// data-p2p-srcset (with sizes) or its <picture>'s <source data-p2p-srcset>
// children (type and media honoured), as the browser would pick from a
// real srcset. The page keeps its markup: it only renames src/srcset to
// data-p2p-src/data-p2p-srcset, so the browser itself loads nothing.

/** Image types every browser the SDK supports decodes (for <source type>). */
export const DECODABLE_IMAGE_TYPES = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/apng',
  'image/bmp',
  'image/x-icon',
  'image/svg+xml',
]);

/**
 * Parse a srcset: [{ url, w?, x? }], in order. A candidate without a
 * descriptor is 1x; malformed descriptors drop the candidate, as browsers
 * do.
 */
export function parseSrcset(srcset) {
  const out = [];
  if (typeof srcset !== 'string') return out;
  const s = srcset;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i])) i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && !/\s/.test(s[j])) j++;
    let url = s.slice(i, j);
    let desc = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, ''); // "a.jpg, b.jpg 2x": no descriptor
      i = j;
    } else {
      let k = j;
      while (k < s.length && s[k] !== ',') k++;
      desc = s.slice(j, k).trim();
      i = k + 1;
    }
    const parts = desc ? desc.split(/\s+/) : [];
    if (parts.length > 1 || !url) continue;
    const d = parts[0];
    const c = { url };
    if (!d) c.x = 1;
    else if (/^\d+w$/.test(d)) c.w = Number(d.slice(0, -1));
    else if (/^\d+(\.\d+)?x$/.test(d)) c.x = Number(d.slice(0, -1));
    else continue;
    out.push(c);
  }
  return out;
}

/** A CSS length of a sizes entry in px: px, vw, em/rem (16px); NaN otherwise. */
function cssLength(s, win) {
  const m = /^(\d+(?:\.\d+)?)(px|vw|em|rem)$/.exec(s.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  if (m[2] === 'px') return n;
  if (m[2] === 'vw') return (n * (win.innerWidth ?? 0)) / 100;
  return n * 16;
}

/**
 * The slot width in CSS px from a sizes attribute: the first entry whose
 * media condition matches (win.matchMedia), or the last one without a
 * condition; null when none applies or a length is not understood.
 */
export function evalSizes(sizes, win) {
  if (typeof sizes !== 'string' || !sizes.trim()) return null;
  for (const entry of sizes.split(',')) {
    const e = entry.trim();
    const m = /^(\(.*\))\s+(\S+)$/.exec(e);
    if (m) {
      if (win.matchMedia?.(m[1])?.matches) {
        const px = cssLength(m[2], win);
        return Number.isNaN(px) ? null : px;
      }
      continue;
    }
    const px = cssLength(e, win);
    return Number.isNaN(px) ? null : px;
  }
  return null;
}

/**
 * The candidate a browser would take: with width descriptors, the smallest
 * at least slotWidth × devicePixelRatio wide (the widest if none is); with
 * densities, the smallest at least devicePixelRatio (the densest if none
 * is). el gives the slot width when sizes does not (its clientWidth, else
 * the viewport's).
 */
export function pickCandidate(candidates, sizes, el, win) {
  if (!candidates.length) return null;
  const dpr = win.devicePixelRatio || 1;
  const ws = candidates.filter((c) => c.w);
  if (ws.length) {
    const slot = evalSizes(sizes, win) ?? (el?.clientWidth || win.innerWidth || 0);
    const need = slot * dpr;
    const sorted = ws.sort((a, b) => a.w - b.w);
    return (sorted.find((c) => c.w >= need) ?? sorted.at(-1)).url;
  }
  const sorted = candidates.filter((c) => c.x).sort((a, b) => a.x - b.x);
  return (sorted.find((c) => c.x >= dpr) ?? sorted.at(-1))?.url ?? null;
}

/**
 * The path element el wants: from its <picture>'s first <source> with a
 * data-p2p-srcset whose type is decodable and whose media matches, then
 * its own data-p2p-srcset, then data-p2p-src (attr). null when none.
 * win: { matchMedia, devicePixelRatio, innerWidth }; decodable(type).
 */
export function selectPath(el, { attr = 'data-p2p-src', win = globalThis, decodable = (t) => DECODABLE_IMAGE_TYPES.has(t) } = {}) {
  const sizesOf = (x) => x?.getAttribute('data-p2p-sizes') ?? x?.getAttribute('sizes') ?? null;
  const parent = el.parentElement;
  if (el.tagName === 'IMG' && parent?.tagName === 'PICTURE') {
    for (const source of parent.children) {
      if (source.tagName !== 'SOURCE') continue;
      const srcset = source.getAttribute('data-p2p-srcset');
      if (!srcset) continue;
      const type = source.getAttribute('type');
      if (type && !decodable(type.trim().toLowerCase())) continue;
      const media = source.getAttribute('media');
      if (media && !win.matchMedia?.(media)?.matches) continue;
      const url = pickCandidate(parseSrcset(srcset), sizesOf(source) ?? sizesOf(el), el, win);
      if (url) return url;
    }
  }
  const own = el.getAttribute('data-p2p-srcset');
  if (own) {
    const url = pickCandidate(parseSrcset(own), sizesOf(el), el, win);
    if (url) return url;
  }
  return el.getAttribute(attr) || null;
}
