// Chunk sources: the keys of bySource (stats().bySource and res.p2p.bySource)
// and which one a fetch is labelled with.
//
// Over frames the relay states where it got each chunk (CHUNK flags,
// protocol.js chunkSourceName): 'relay' (its cache), 'peer', 'origin',
// 'cluster' (another relay of its mesh); 'http' is the /files rung and
// 'local' this tab's chunk cache and store.

/** Every bySource key, in the order ties are broken (the first wins). */
export const SOURCES = Object.freeze(['relay', 'peer', 'origin', 'cluster', 'http', 'local']);

/** A bySource record with every key at 0. */
export function emptySources() {
  return Object.fromEntries(SOURCES.map((k) => [k, 0]));
}

/** A bySource record counting the sources of one fetch's chunks (index → source), plus httpChunks over HTTP. */
export function countSources(sources, httpChunks = 0) {
  const by = emptySources();
  for (const s of sources) by[s] = (by[s] ?? 0) + 1;
  by.http += httpChunks;
  return by;
}

/** The source of most chunks ('relay' when there are none; ties go to the earlier key). */
export function mainSource(bySource) {
  let source = 'relay';
  let most = -1;
  for (const [k, v] of Object.entries(bySource)) {
    if (v > most) {
      most = v;
      source = k;
    }
  }
  return source;
}
