"""Page behaviours run before a browser capture is taken, each bounded in time and count.

What a reader would do to see a post: let the network settle, accept the cookie banner that covers
the page, scroll down so lazy images and timeline items load, expand "see more", stop videos that
play by themselves. None of them submits a form or follows a link (``spiders.browser`` also refuses
every top-level navigation once the page has loaded). Each returns what it did, for the page-info
record; a behaviour that fails or runs out of time says so and the capture goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from spiders.browser import PageRecorder

__all__ = ["run_behaviours"]

CONSENT_CLICKS = 3
SEE_MORE_CLICKS = 10
STEP_SECONDS = 2.0  # the longest one scroll step waits for the network

# buttons of cookie-consent dialogs: common ids/attributes, and accept/agree texts in a few languages
CONSENT_SELECTORS = ", ".join([
    "#onetrust-accept-btn-handler", ".fc-cta-consent", "#L2AGLb", "#didomi-notice-agree-button",
    '[data-cookiebanner="accept_button"]', '[data-testid="cookie-policy-manage-dialog-accept-button"]',
    ".cc-allow", ".cc-accept", "#CybotCookiebotDialogBodyLevelButtonLLAcceptAll", ".js-accept-cookies"])
CONSENT_WORDS = "|".join([
    "accept", "accept all", "accept all cookies", "accept cookies", "allow all", "allow all cookies",
    "allow cookies", "agree", "i agree", "agree and close", "agree & close", "yes,? i agree", "ok",
    "okay", "got it", "i understand", "consent", "accepter", "tout accepter", "j'accepte",
    "akzeptieren", "alle akzeptieren", "zustimmen", "aceptar", "aceptar todo", "aceptar cookies",
    "accetta", "accetta tutto", "aceitar", "aceitar todos", "принять", "同意する", "同意"])
SEE_MORE_WORDS = "|".join([
    "see more", "show more", "read more", "view more", "more", "… ?more", r"\.\.\. ?more",
    "mehr anzeigen", "weiterlesen", "voir plus", "afficher la suite", "ver más", "leer más",
    "mostra altro", "ver mais", "ещё", "показать полностью"])

# an element a behaviour may click: visible, not a form's submit button, not a link that navigates
_CLICKABLE_JS = r"""
const clickable = (el) => {
  if (el.closest('form') && el.tagName === 'BUTTON'
      && (el.getAttribute('type') || 'submit') === 'submit') return false;
  const link = el.closest('a');
  const href = link ? (link.getAttribute('href') || '') : '';
  if (href && href !== '#' && !href.startsWith('javascript:')) return false;
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
};
"""

_CONSENT_JS = r"""
(args) => {
""" + _CLICKABLE_JS + r"""
  const words = new RegExp('^(' + args.words + ')$', 'i');
  const done = [];
  const seen = new Set();
  const all = [...document.querySelectorAll(args.selectors),
               ...document.querySelectorAll('button, [role=button], a, input[type=button]')];
  for (const el of all) {
    if (done.length >= args.max || seen.has(el)) continue;
    seen.add(el);
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '')
      .trim().replace(/\s+/g, ' ');
    if (!el.matches(args.selectors) && !words.test(text)) continue;
    if (!clickable(el)) continue;
    el.click();
    done.push(text.slice(0, 60) || el.id || el.className);
  }
  const root = document.documentElement;
  const height = Math.max(document.body ? document.body.scrollHeight : 0, root.scrollHeight);
  return {clicked: done, height: height, fits: window.scrollY + window.innerHeight >= height - 2};
}
"""

_SEE_MORE_JS = r"""
(args) => {
""" + _CLICKABLE_JS + r"""
  const words = new RegExp('^(' + args.words + ')$', 'i');
  const done = [];
  for (const el of document.querySelectorAll('button, [role=button], span, div, a')) {
    if (done.length >= args.max) break;
    if (el.children.length > 2) continue;
    const text = (el.innerText || '').trim().replace(/\s+/g, ' ');
    if (!text || text.length > 30 || !words.test(text) || !clickable(el)) continue;
    el.click();
    done.push(text);
  }
  return done;
}
"""

_PAUSE_JS = r"""
() => {
  let paused = 0;
  for (const media of document.querySelectorAll('video, audio')) {
    if (!media.paused) paused++;
    media.autoplay = false;
    try { media.pause(); } catch (e) {}
  }
  return paused;
}
"""

_TEXT = "(document.body ? document.body.innerText.length : 0)"  # the text a reader sees, in characters
# "see more" and autoplay in one round trip (each costs one on a busy machine); ``text``: the page's
# text before the clicks
_EXPAND_AND_PAUSE_JS = ("(args) => ({text: " + _TEXT + ", clicked: (" + _SEE_MORE_JS.strip()
                        + ")(args), paused: (" + _PAUSE_JS.strip() + ")()})")

# the consent survey, and when it clicked nothing and the page fits the viewport (nothing to wait
# for, nothing to scroll) "see more" and autoplay too: one round trip for a page that needs no more
_SURVEY_JS = ("(args) => { const survey = (" + _CONSENT_JS.strip() + ")(args.consent);"
              " if (!survey.clicked.length && survey.fits) survey.more = ("
              + _EXPAND_AND_PAUSE_JS + ")(args.more); return survey; }")

_HEIGHT = ("Math.max(document.body ? document.body.scrollHeight : 0, "
           "document.documentElement ? document.documentElement.scrollHeight : 0)")
# the page's height, and whether the view is at its bottom
_VIEW_JS = f"() => ({{height: {_HEIGHT}, bottom: window.scrollY + window.innerHeight >= {_HEIGHT} - 2}})"
# two frames and a task later: the scroll's events, the page's handlers of them and its
# IntersectionObservers have run (the requests they make are started)
_FRAMES_JS = ("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame("
              "() => setTimeout(done, 0))))")
_GREW_JS = f"(height) => {_HEIGHT} > height"
_TEXT_GREW_JS = f"(length) => {_TEXT} > length"


async def _bounded(action: Awaitable[Any], seconds: float) -> tuple[Any, str | None]:
    """(result, None), or (None, why it did not finish) after ``seconds``."""
    try:
        return await asyncio.wait_for(action, max(0.05, seconds)), None
    except TimeoutError:
        return None, f"stopped after {seconds:.1f} s"
    except Exception as exc:  # the page navigated, closed or threw: the capture goes on
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


async def scroll(page: Any, recorder: PageRecorder, steps: int, seconds: float) -> dict[str, Any]:
    """Scroll down one viewport at a time (at most ``steps``), letting lazy content load; at the
    bottom, wait for the page to grow (an infinite scroll's next items), and stop when it does not.

    Each step (``STEP_SECONDS`` at most) waits on the page, not on a clock: for its frames (the
    scroll's handlers have run), for the network, and at the bottom for the page's height: on a busy
    machine an infinite scroll's items come late, and a step taken before they came would be lost (the
    view, still at the bottom, would not move)."""
    deadline = time.monotonic() + seconds
    step_end = deadline

    def left() -> float:
        return max(0.0, step_end - time.monotonic())

    done = grew = 0
    view = await page.evaluate(_VIEW_JS)  # at the bottom already: the whole page is in view
    while done < steps and not view["bottom"] and time.monotonic() < deadline:
        height = view["height"]
        await page.evaluate("() => window.scrollBy(0, window.innerHeight)")
        step_end = min(deadline, time.monotonic() + STEP_SECONDS)
        done += 1
        await _bounded(page.evaluate(_FRAMES_JS), left())
        await recorder.wait_idle(left(), quiet=0.3)
        view = await page.evaluate(_VIEW_JS)
        if view["bottom"] and view["height"] <= height and await _grows(page, height, left()):
            view = await page.evaluate(_VIEW_JS)
        if view["height"] > height:
            grew += 1
    await page.evaluate("() => window.scrollTo(0, 0)")
    return {"steps": done, "page_grew": grew, "height": view["height"]}


async def _grows(page: Any, height: int, seconds: float) -> bool:
    """Whether the page grows taller than ``height`` within ``seconds`` (its height polled in the page)."""
    return await _comes_true(page, _GREW_JS, height, seconds)


async def _comes_true(page: Any, predicate: str, arg: Any, seconds: float) -> bool:
    """Whether the page's ``predicate(arg)`` comes true within ``seconds`` (polled in the page)."""
    if seconds <= 0:
        return False
    try:
        await page.wait_for_function(predicate, arg=arg, polling=100, timeout=seconds * 1000)
    except Exception:  # timed out (nothing more came), or the page went away: the next call says so
        return False
    return True


async def _expanded(page: Any, recorder: PageRecorder, length: int, seconds: float) -> bool:
    """After "see more" clicks: the page's frames, the network, then its text growing past ``length``
    characters (the rest it fetched, however late it comes), within ``seconds``; whether it grew."""
    end = time.monotonic() + seconds
    await _bounded(page.evaluate(_FRAMES_JS), seconds)
    await recorder.wait_idle(max(0.0, end - time.monotonic()), quiet=0.3)
    return await _comes_true(page, _TEXT_GREW_JS, length, end - time.monotonic())


async def run_behaviours(page: Any, recorder: PageRecorder, *, scroll_steps: int = 10,
                         idle_seconds: float = 5.0) -> dict[str, Any]:
    """Run the behaviours on a loaded ``page``; what each did (or why it stopped)."""
    report: dict[str, Any] = {}
    started = time.monotonic()
    more_args = {"max": SEE_MORE_CLICKS, "words": SEE_MORE_WORDS}
    survey, error = await _bounded(page.evaluate(_SURVEY_JS, {
        "consent": {"max": CONSENT_CLICKS, "words": CONSENT_WORDS, "selectors": CONSENT_SELECTORS},
        "more": more_args}), 3.0)
    survey = survey if isinstance(survey, dict) else {}
    report["consent_clicked"] = survey.get("clicked", [])
    if error:
        report["consent_error"] = error
    if report["consent_clicked"]:
        await recorder.wait_idle(2.0, quiet=0.3)
    if survey.get("fits") and not report["consent_clicked"]:
        report["scroll"] = {"steps": 0, "page_grew": 0, "height": survey.get("height")}
    else:
        report["scroll"], error = await _bounded(
            scroll(page, recorder, scroll_steps, scroll_steps * (STEP_SECONDS + 0.5)),
            scroll_steps * (STEP_SECONDS + 0.5) + 2.0)
        if error:
            report["scroll_error"] = error
    if isinstance(survey.get("more"), dict):  # done by the survey already
        done, error = survey["more"], None
    else:
        done, error = await _bounded(page.evaluate(_EXPAND_AND_PAUSE_JS, more_args), 3.0)
    done = done if isinstance(done, dict) else {}
    report["see_more_clicked"] = done.get("clicked", [])
    report["media_paused"] = done.get("paused", 0)
    if error:
        report["see_more_error"] = error
    if report["see_more_clicked"]:
        await _expanded(page, recorder, int(done.get("text") or 0), 2.0)
    report["network_idle"] = await recorder.wait_idle(idle_seconds)
    report["seconds"] = round(time.monotonic() - started, 3)
    return report
