// A small DOM for autoload's unit tests: elements with attributes, children,
// style, bubbling events, attribute selectors, plus hand-driven
// IntersectionObserver and matchMedia stand-ins. Only what autoload uses.

export class FakeElement extends EventTarget {
  constructor(tagName, attrs = {}, children = []) {
    super();
    this.tagName = tagName.toUpperCase();
    this.nodeType = 1;
    this.parentNode = null;
    this.children = [];
    this._attrs = new Map();
    this.style = {};
    this.clientWidth = 0;
    for (const [k, v] of Object.entries(attrs)) this._attrs.set(k, String(v));
    for (const c of children) this.append(c);
  }

  get parentElement() {
    return this.parentNode?.nodeType === 1 ? this.parentNode : null;
  }

  append(child) {
    child.parentNode = this;
    this.children.push(child);
    return child;
  }

  getAttribute(k) {
    return this._attrs.has(k) ? this._attrs.get(k) : null;
  }

  setAttribute(k, v) {
    this._attrs.set(k, String(v));
  }

  removeAttribute(k) {
    this._attrs.delete(k);
  }

  hasAttribute(k) {
    return this._attrs.has(k);
  }

  /** Descendants in document order. */
  *descendants() {
    for (const c of this.children) {
      yield c;
      yield* c.descendants();
    }
  }

  /** Selectors of the form [a], [a],[b] and tag (e.g. 'source'). */
  querySelectorAll(sel) {
    const parts = sel.split(',').map((s) => s.trim());
    const match = (el) =>
      parts.some((p) => {
        const m = /^\[([\w-]+)\]$/.exec(p);
        return m ? el.hasAttribute(m[1]) : el.tagName === p.toUpperCase();
      });
    return [...this.descendants()].filter(match);
  }

  dispatchEvent(ev) {
    const r = super.dispatchEvent(ev);
    if (ev.bubbles && this.parentNode && !ev.cancelBubble) {
      // re-dispatch a copy up the tree (enough for listeners on ancestors)
      const up = new CustomEvent(ev.type, { detail: ev.detail, bubbles: true });
      this.parentNode.dispatchEvent(up);
    }
    return r;
  }
}

export class FakeDocument extends FakeElement {
  constructor(children = []) {
    super('#document');
    this.nodeType = 9;
    this.documentElement = this.append(new FakeElement('html', {}, children));
  }
}

/** An IntersectionObserver whose intersections the test triggers with FakeIO.show(el). */
export class FakeIO {
  static all = [];

  constructor(cb, opts) {
    this.cb = cb;
    this.opts = opts;
    this.targets = new Set();
    FakeIO.all.push(this);
  }

  observe(el) {
    this.targets.add(el);
  }

  unobserve(el) {
    this.targets.delete(el);
  }

  disconnect() {
    this.targets.clear();
  }

  /** Report el as intersecting to every observer watching it. */
  static show(el) {
    for (const io of FakeIO.all) if (io.targets.has(el)) io.cb([{ target: el, isIntersecting: true, intersectionRatio: 1 }], io);
  }

  static reset() {
    FakeIO.all = [];
  }
}

/** A matchMedia that knows (min-width: Npx) and (max-width: Npx) against a viewport width. */
export function fakeMatchMedia(width) {
  return (q) => {
    const min = /\(min-width:\s*(\d+)px\)/.exec(q);
    const max = /\(max-width:\s*(\d+)px\)/.exec(q);
    let matches = true;
    if (min) matches &&= width >= Number(min[1]);
    if (max) matches &&= width <= Number(max[1]);
    if (!min && !max) matches = q.trim() === 'all' || q.trim() === '';
    return { matches, media: q };
  };
}
