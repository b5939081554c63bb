// Passive content types: the only ones the SDK turns into blob: (object)
// URLs unless the page opts in with allowActiveTypes.
//
// An object URL belongs to the page's origin. A file whose type a browser
// would render as a document (text/html, image/svg+xml, application/xml,
// JavaScript, PDF, ...) and that someone opens at that URL runs in the
// page's origin, with its cookies and storage, whatever the relay's origin
// did to contain it (the relay serves /files with nosniff and a sandboxing
// CSP for active types; a blob: URL carries none of that). So for anything
// but the allowlist below, autoload() and objectURL() use the relay's own
// /files/<path> URL instead: the browser loads it from the relay's origin,
// under the relay's headers. The file then comes over plain HTTP,
// unverified by the SDK, exactly as a page without the SDK would load it.
//
// The allowlist (the type's essence: lowercased, parameters dropped):
//   image/avif, image/bmp, image/gif, image/jpeg (and image/jpg,
//     image/pjpeg), image/png, image/apng, image/webp, image/jxl,
//     image/x-icon, image/vnd.microsoft.icon, image/heic, image/heif,
//     image/tiff — raster images; not image/svg+xml (a document that can
//     run script), nor any other image type
//   audio/* and video/* — media, decoded by the media stack, never rendered
//     as a document
//   font/woff, font/woff2, font/ttf, font/otf, font/collection, font/sfnt
// Any type ending in +xml is refused even under audio/ or video/. Left out
// on purpose: text/plain and application/octet-stream (browsers sniff
// them, and a sniffed document is active), and everything else.

const PASSIVE_IMAGES = new Set([
  'image/avif',
  'image/bmp',
  'image/gif',
  'image/jpeg',
  'image/jpg',
  'image/pjpeg',
  'image/png',
  'image/apng',
  'image/webp',
  'image/jxl',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'image/heic',
  'image/heif',
  'image/tiff',
]);

const PASSIVE_FONTS = new Set(['font/woff', 'font/woff2', 'font/ttf', 'font/otf', 'font/collection', 'font/sfnt']);

const TOKEN = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** The essence of a Content-Type: 'Image/PNG; q=1' → 'image/png'; '' when it is not type/subtype. */
export function mimeEssence(contentType) {
  if (typeof contentType !== 'string') return '';
  const e = contentType.split(';', 1)[0].trim().toLowerCase();
  return TOKEN.test(e) ? e : '';
}

/** Whether content of this type may be handed to the page as a blob: URL (see the allowlist above). */
export function isPassiveType(contentType) {
  const e = mimeEssence(contentType);
  if (!e || e.endsWith('+xml')) return false;
  if (PASSIVE_IMAGES.has(e) || PASSIVE_FONTS.has(e)) return true;
  return e.startsWith('audio/') || e.startsWith('video/');
}
