"""Error, login and paywall phrases: the text side of soft-404 detection.

A removed video, a deleted post or an expired article often answers 200 with a page that says so. The
phrases below are what such pages say in English, Spanish, Portuguese, French and Arabic, including the
wording of YouTube, Facebook, Instagram, X/Twitter, TikTok, Telegram and common news sites. A phrase is
only ever *one signal*: ``collector.check.verdict`` combines it with the page's length, its similarity to the
baseline and the answer to a probe URL before calling a page a soft-404.

Matching is case-, accent- and quote-insensitive (``collector.check.quotes.fold``; for Arabic also the
hamza/alef forms, ta marbuta, alef maqsura and tatweel are folded) and only on whole words. Where a page
is searched:

- the title, for every phrase;
- the first ~1,500 characters of the main text, for the specific phrases (``"page not found"``,
  ``"this video is unavailable"`` ...); login and paywall phrases also in the last ~800 characters, where
  paywalls put "subscribe to continue reading";
- short lines only (up to 60 characters: a heading such as "Not Found" or "Sign in"), for the generic
  phrases (``"not found"``, ``"log in"`` ...) that an article could use in passing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from collector.check.quotes import fold

__all__ = [
    "LOGIN_WALL_MAX_WORDS",
    "Phrase",
    "PhraseHit",
    "error_phrases",
    "find_phrases",
    "is_login_url",
    "is_login_wall",
]

HEAD_CHARS = 1500
TAIL_CHARS = 800
SHORT_LINE = 60
LOGIN_WALL_MAX_WORDS = 400  # a login or paywall page: little text besides the wall
BARE_LOGIN_MAX_WORDS = 80  # a page whose only login cue is a short "Sign in" line

# kind "missing": the content is not there; kind "login": the content is behind a login or paywall.
# Specific phrases are searched in the title and text head; generic ones in the title and short lines.
_MISSING = {
    "en": (
        "page not found", "404 not found", "error 404", "404 error", "404 page",
        "the page you requested could not be found", "the requested url was not found",
        "was not found on this server", "page cannot be found", "page could not be found",
        "we can't find that page", "we couldn't find that page", "we can't find the page",
        "we couldn't find the page", "page you are looking for", "page you're looking for",
        "page you were looking for", "this page doesn't exist", "this page does not exist",
        "page no longer exists", "no longer exists", "no longer available", "is no longer available",
        "content not available", "content unavailable", "content isn't available",
        "content is not available", "this content isn't available right now",
        "this page isn't available", "this page is not available", "sorry, this page isn't available",
        "the link you followed may be broken", "the page may have been removed",
        "video unavailable", "this video is unavailable", "this video isn't available anymore",
        "this video is no longer available", "this video has been removed", "this video is private",
        "video has been removed", "video currently unavailable", "this video is not available",
        "this account doesn't exist", "account suspended", "this account has been suspended",
        "account has been suspended", "this post is unavailable", "this post was deleted",
        "this post has been deleted", "this tweet was deleted", "this tweet has been deleted",
        "this tweet is unavailable", "this post is from a suspended account", "post not found",
        "couldn't find this account", "message not found", "channel not found",
        "this channel is private", "has been removed", "has been deleted", "was removed",
        "was deleted", "content has been removed", "page has been removed", "has been taken down",
        "article has expired", "story has expired", "this article is no longer available",
        "this story is no longer available", "this content has expired", "article not found",
        "story not found", "item not found",
    ),
    "es": (
        "página no encontrada", "error 404", "no se encontró la página", "no se ha encontrado la página",
        "no hemos podido encontrar", "la página que buscas no existe", "la página que estás buscando",
        "la página solicitada no existe", "esta página no existe", "esta página no está disponible",
        "lo sentimos, esta página no está disponible", "este contenido no está disponible",
        "este contenido no está disponible en este momento", "contenido no disponible",
        "video no disponible", "vídeo no disponible", "este video no está disponible",
        "este vídeo no está disponible", "este video ya no está disponible", "este video es privado",
        "se ha eliminado", "ha sido eliminado", "ha sido eliminada", "fue eliminado", "fue eliminada",
        "ha sido retirado", "esta cuenta no existe", "cuenta suspendida",
        "esta publicación no está disponible", "esta publicación fue eliminada",
        "este tweet fue eliminado", "este post fue eliminado", "ya no está disponible",
        "noticia no encontrada", "artículo no encontrado",
    ),
    "pt": (
        "página não encontrada", "erro 404", "a página que você procura não existe",
        "a página que você está procurando", "a página solicitada não existe",
        "a página que procura não existe", "esta página não existe", "esta página não está disponível",
        "este conteúdo não está disponível", "este conteúdo não está disponível no momento",
        "conteúdo indisponível", "conteúdo não disponível", "vídeo indisponível",
        "este vídeo não está disponível", "este vídeo não está mais disponível",
        "este vídeo já não está disponível", "este vídeo é privado", "foi removido", "foi removida",
        "foi excluído", "foi excluída", "foi apagado", "foi apagada", "esta conta não existe",
        "conta suspensa", "esta publicação não está disponível", "não está mais disponível",
        "já não está disponível", "notícia não encontrada", "artigo não encontrado",
    ),
    "fr": (
        "page non trouvée", "page introuvable", "erreur 404", "cette page n'existe pas",
        "la page que vous recherchez", "la page demandée n'existe pas", "la page que vous avez demandée",
        "la page demandée est introuvable", "cette page n'est pas disponible",
        "désolé, cette page n'est pas disponible", "ce contenu n'est pas disponible",
        "ce contenu n'est pas disponible pour le moment", "contenu indisponible",
        "contenu non disponible", "vidéo non disponible", "vidéo indisponible",
        "cette vidéo n'est pas disponible", "cette vidéo n'est plus disponible", "cette vidéo est privée",
        "a été supprimé", "a été supprimée", "a été retiré", "a été retirée", "ce compte n'existe pas",
        "compte suspendu", "cette publication n'est pas disponible", "n'est plus disponible",
        "article introuvable", "cet article n'est plus disponible",
    ),
    "ar": (
        "الصفحة غير موجودة", "لم يتم العثور على الصفحة", "الصفحة المطلوبة غير موجودة",
        "الصفحة التي تبحث عنها غير موجودة", "خطأ 404", "هذه الصفحة غير متاحة",
        "عذرا، هذه الصفحة غير متاحة", "هذا المحتوى غير متاح", "هذا المحتوى غير متاح في الوقت الحالي",
        "المحتوى غير متاح", "الفيديو غير متاح", "هذا الفيديو غير متاح", "هذا الفيديو لم يعد متاحا",
        "هذا الفيديو خاص", "تمت إزالة", "تمت ازالته", "تم حذف", "تم حذفه", "تم حذفها", "لم يعد متاحا",
        "هذا الحساب غير موجود", "الحساب معلق", "هذا المنشور غير متاح", "الخبر غير موجود",
        "المقال غير موجود",
    ),
}
_MISSING_GENERIC = {
    "en": ("not found", "404", "unavailable", "not available"),
    "es": ("no encontrado", "no encontrada", "no disponible"),
    "pt": ("não encontrado", "não encontrada", "indisponível", "não disponível"),
    "fr": ("introuvable", "non trouvé", "non trouvée", "non disponible"),
    "ar": ("غير موجود", "غير موجودة", "غير متاح", "غير متاحة"),
}
_LOGIN = {
    "en": (
        "log in to continue", "sign in to continue", "log in to see", "log in to view",
        "you must be logged in", "you must log in", "please log in", "please sign in", "login required",
        "sign in to confirm your age", "sign in to confirm you're not a bot", "log into facebook",
        "log in to facebook", "log in to instagram", "log in to x", "sign in to x",
        "log in to tiktok", "create an account to continue", "register to continue reading",
        "subscribe to continue reading", "subscribe to read", "subscribe to keep reading",
        "this article is for subscribers", "this content is for subscribers", "for subscribers only",
        "subscribers only", "exclusive to subscribers", "already a subscriber", "already subscribed",
        "continue reading with a subscription", "sign in to read the full article",
    ),
    "es": (
        "inicia sesión para continuar", "inicia sesión para ver", "debes iniciar sesión",
        "iniciar sesión en facebook", "regístrate para continuar", "suscríbete para seguir leyendo",
        "suscríbete para continuar leyendo", "contenido exclusivo para suscriptores",
        "exclusivo para suscriptores", "solo para suscriptores", "ya eres suscriptor",
        "inicia sesión para seguir leyendo",
    ),
    "pt": (
        "faça login para continuar", "faça login para ver", "inicie sessão para continuar",
        "entrar no facebook", "você precisa fazer login", "conteúdo exclusivo para assinantes",
        "exclusivo para assinantes", "já é assinante", "assine para continuar lendo",
        "conteúdo exclusivo para subscritores",
    ),
    "fr": (
        "connectez-vous pour continuer", "connectez-vous pour voir", "vous devez être connecté",
        "se connecter à facebook", "identifiez-vous", "article réservé aux abonnés",
        "réservé aux abonnés", "contenu réservé aux abonnés", "déjà abonné",
        "abonnez-vous pour lire la suite", "de cet article à lire", "la suite est réservée aux abonnés",
    ),
    "ar": (
        "سجل الدخول للمتابعة", "يجب تسجيل الدخول", "تسجيل الدخول إلى فيسبوك", "للمشتركين فقط",
        "هذا المحتوى متاح للمشتركين فقط", "اشترك لمتابعة القراءة", "محتوى حصري للمشتركين",
    ),
}
_LOGIN_GENERIC = {
    "en": ("log in", "login", "sign in", "sign up", "log into"),
    "es": ("iniciar sesión", "inicia sesión", "entrar", "regístrate", "acceder"),
    "pt": ("entrar", "fazer login", "faça login", "iniciar sessão", "inicie sessão", "cadastre-se"),
    "fr": ("se connecter", "connexion", "connectez-vous", "s'identifier", "inscription"),
    "ar": ("تسجيل الدخول", "سجل الدخول", "دخول", "إنشاء حساب"),
}

_ARABIC = str.maketrans({"ة": "ه", "ى": "ي", "ـ": None, "٠": "0", "١": "1", "٢": "2", "٣": "3",
                         "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9", "،": ","})
_LOGIN_PATH = re.compile(
    r"(?:^|/)(?:log-?in|log_in|sign-?in|sign_in|signin|servicelogin|sso|auth|session|sessions|"
    r"checkpoint|connexion|entrar|iniciar-sesion|acceso)(?:\.[a-z]{2,5})?(?:/|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Phrase:
    """One phrase of the tables above, folded for matching."""

    text: str  # as written, shown in signals
    lang: str
    kind: str  # "missing" or "login"
    generic: bool  # matched only in the title and short lines
    pattern: re.Pattern[str]
    words: frozenset[str] = frozenset()  # its folded words: a text lacking one cannot match


@dataclass(frozen=True)
class PhraseHit:
    """A phrase found on a page."""

    phrase: str
    lang: str
    kind: str
    generic: bool
    where: str  # "title" or "text"


def _fold(text: str) -> str:
    return fold(text)[0].translate(_ARABIC)


_WORD = re.compile(r"\w+")


def _compile(text: str, lang: str, kind: str, generic: bool) -> Phrase:
    folded = _fold(text)
    pattern = re.compile(r"(?<!\w)" + re.escape(folded).replace(r"\ ", r"\s+") + r"(?!\w)")
    return Phrase(text, lang, kind, generic, pattern, frozenset(_WORD.findall(folded)))


@lru_cache(maxsize=1)
def _phrases() -> tuple[Phrase, ...]:
    out: list[Phrase] = []
    for table, kind, generic in ((_MISSING, "missing", False), (_MISSING_GENERIC, "missing", True),
                                 (_LOGIN, "login", False), (_LOGIN_GENERIC, "login", True)):
        for lang, phrases in table.items():
            out.extend(_compile(p, lang, kind, generic) for p in phrases)
    return tuple(out)


def _short_lines(text: str) -> str:
    lines = (line.strip() for line in text[:HEAD_CHARS].split("\n"))
    return "\n".join(line for line in lines if 0 < len(line) <= SHORT_LINE)


def find_phrases(text: str | None, title: str | None) -> list[PhraseHit]:
    """Every error, login and paywall phrase on the page, title hits first (see the module docstring).

    Cached: a verdict asks about the same page several times (login wall, soft-404, the baseline).
    """
    return list(_find_phrases(text, title))


@lru_cache(maxsize=512)
def _find_phrases(text: str | None, title: str | None) -> tuple[PhraseHit, ...]:
    title_f = _fold(title) if title else ""
    text = text or ""
    head = _fold(text[:HEAD_CHARS])
    tail = _fold(text[-TAIL_CHARS:]) if len(text) > HEAD_CHARS else ""
    short = _fold(_short_lines(text))
    hits: list[PhraseHit] = []
    seen: set[str] = set()

    def add(phrase: Phrase, where: str) -> None:
        if phrase.pattern.pattern not in seen:  # "error 404" is English and Spanish: report it once
            seen.add(phrase.pattern.pattern)
            hits.append(PhraseHit(phrase.text, phrase.lang, phrase.kind, phrase.generic, where))

    # a phrase matches only where every one of its words is a word: the regex runs only there
    in_title, in_head, in_tail, in_short = (set(_WORD.findall(t)) for t in (title_f, head, tail, short))
    for phrase in _phrases():
        if phrase.words <= in_title and phrase.pattern.search(title_f):
            add(phrase, "title")
    for phrase in _phrases():
        if phrase.generic:
            found = phrase.words <= in_short and phrase.pattern.search(short) is not None
        else:
            found = (phrase.words <= in_head and phrase.pattern.search(head) is not None) or (
                phrase.kind == "login" and phrase.words <= in_tail
                and phrase.pattern.search(tail) is not None)
        if found:
            add(phrase, "text")
    # "unavailable" inside "video unavailable" is one finding, not two (in the same place)
    folded = [(hit, _fold(hit.phrase)) for hit in hits]
    return tuple(hit for hit, f in folded if not any(
        f != g and other.where == hit.where and re.search(rf"(?<!\w){re.escape(f)}(?!\w)", g)
        for other, g in folded))


def error_phrases(text: str | None, title: str | None) -> list[str]:
    """Signals such as ``"error phrase: 'page not found' (en)"`` for the phrases found on a page."""
    return [f"error phrase: '{hit.phrase}' ({hit.lang})" for hit in find_phrases(text, title)]


def is_login_wall(text: str | None, title: str | None) -> bool:
    """True when the page is a login or paywall page rather than content.

    A login phrase in the title or a specific login/paywall phrase in the text ("subscribe to continue
    reading", "réservé aux abonnés") counts when the page has at most ``LOGIN_WALL_MAX_WORDS`` words;
    a bare "Sign in" line only on an almost empty page (``BARE_LOGIN_MAX_WORDS``). A page that also
    says its content is missing ("this content isn't available") is not a login wall but an error page.
    """
    hits = find_phrases(text, title)
    if any(hit.kind == "missing" and not hit.generic for hit in hits):
        return False
    words = len(text.split()) if text else 0
    for hit in hits:
        if hit.kind != "login":
            continue
        if (hit.where == "title" or not hit.generic) and words <= LOGIN_WALL_MAX_WORDS:
            return True
        if words <= BARE_LOGIN_MAX_WORDS:
            return True
    return False


def is_login_url(url: str | None) -> bool:
    """True when the URL's path is a login page (``/login``, ``/accounts/login/``, ``/ServiceLogin`` ...)."""
    if not url:
        return False
    return _LOGIN_PATH.search(urlsplit(url).path) is not None
