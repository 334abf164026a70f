"""Error, login and paywall phrases in five languages, as real sites word them."""

from __future__ import annotations

import pytest

from collector.check.soft404 import error_phrases, find_phrases, is_login_url, is_login_wall

from .texts import ARTICLE, INSTAGRAM_LOGIN, LE_MONDE_PAYWALL


@pytest.mark.parametrize(("title", "text", "expected"), [
    # English: X/Twitter, Instagram, TikTok, a news site
    ("Page not found / X", "Hmm...this page doesn’t exist. Try searching for something else.",
     "error phrase: 'page not found' (en)"),
    ("Instagram", "Sorry, this page isn't available.\nThe link you followed may be broken, or the page may "
     "have been removed. Go back to Instagram.", "error phrase: 'sorry, this page isn't available' (en)"),
    ("TikTok - Make Your Day", "Video currently unavailable\nDiscover more trending videos",
     "error phrase: 'video currently unavailable' (en)"),
    ("Valley Courier", "Oops! This story is no longer available.\nReturn to the home page",
     "error phrase: 'this story is no longer available' (en)"),
    # Spanish: YouTube, Facebook
    ("YouTube", "Video no disponible\nEste video ya no está disponible porque se cerró la cuenta de YouTube "
     "asociada.", "error phrase: 'video no disponible' (es)"),
    ("Facebook", "Este contenido no está disponible en este momento\nPor lo general, esto sucede porque el "
     "propietario solo compartió el contenido con un grupo reducido de personas.",
     "error phrase: 'este contenido no está disponible en este momento' (es)"),
    # Portuguese: Instagram, a news site
    ("Instagram", "Esta página não está disponível.\nO link que você acessou pode estar quebrado ou a página "
     "pode ter sido removida.", "error phrase: 'esta página não está disponível' (pt)"),
    ("Erro 404 | Folha", "Página não encontrada\nA página que você procura não existe ou foi removida.",
     "error phrase: 'página não encontrada' (pt)"),
    # French: Facebook (curly apostrophe), YouTube
    ("Facebook", "Ce contenu n’est pas disponible pour le moment\nCela se produit généralement parce que le "
     "propriétaire l’a partagé avec un petit groupe de personnes.",
     "error phrase: 'ce contenu n'est pas disponible pour le moment' (fr)"),
    ("YouTube", "Vidéo non disponible\nCette vidéo n'est plus disponible, car le compte YouTube "
     "associé a été clôturé.", "error phrase: 'vidéo non disponible' (fr)"),
    # Arabic: Instagram (with tanween), YouTube, X
    ("Instagram", "عذرًا، هذه الصفحة غير متاحة.\nربما يكون الرابط الذي اتبعته معطلاً، "
     "أو ربما تمت إزالة الصفحة.",
     "error phrase: 'عذرا، هذه الصفحة غير متاحة' (ar)"),
    ("YouTube", "الفيديو غير متاح\nهذا الفيديو لم يعد متاحًا لأنه تم إغلاق حساب YouTube المرتبط به.",
     "error phrase: 'الفيديو غير متاح' (ar)"),
    ("X", "هذا الحساب غير موجود\nحاول البحث عن حساب آخر.", "error phrase: 'هذا الحساب غير موجود' (ar)"),
])
def test_error_phrases_in_five_languages(title: str, text: str, expected: str) -> None:
    assert expected in error_phrases(text, title)


def test_matching_ignores_case_and_accents() -> None:
    assert "error phrase: 'página no encontrada' (es)" in error_phrases("PAGINA NO ENCONTRADA", None)
    title = "Video Non Disponible - YouTube"
    assert "error phrase: 'vidéo non disponible' (fr)" in error_phrases(None, title)
    assert "error phrase: 'vídeo indisponível' (pt)" in error_phrases("VÍDEO INDISPONIVEL", None)


def test_error_phrase_in_title_only() -> None:
    hits = find_phrases(ARTICLE, "404 Not Found")
    assert [(h.phrase, h.where) for h in hits] == [("404 not found", "title")]


def test_contained_phrases_are_reported_once() -> None:
    assert error_phrases("Video unavailable", None) == ["error phrase: 'video unavailable' (en)"]


def test_generic_phrase_only_on_short_lines() -> None:
    assert error_phrases("Not Found\nThe requested resource could not be located.", None)
    prose = ("The missing ledger was not found in the archive, and the auditors said the records from the "
             "second quarter were not available either.")
    assert error_phrases(prose, "Auditors question missing ledger") == []


def test_error_phrase_deep_in_a_long_article_is_ignored() -> None:
    text = ARTICLE + "\n" + ARTICLE + "\nThe page you are looking for has been removed."
    assert error_phrases(text, "Water utility raises rates") == []


def test_ordinary_article_has_no_phrases() -> None:
    assert error_phrases(ARTICLE, "Water utility raises rates for the third time") == []
    assert error_phrases(None, None) == []


@pytest.mark.parametrize(("text", "title"), [
    (INSTAGRAM_LOGIN, "Login • Instagram"),
    ("Email or phone number\nPassword\nForgotten password?\nCreate new account", "Log into Facebook"),
    ("Sign in to confirm you’re not a bot\nThis helps protect our community.", "YouTube"),
    (LE_MONDE_PAYWALL, "Les négociations sur le climat reprennent à Bonn"),
    ("Inicia sesión para continuar\nCorreo electrónico\nContraseña", "Iniciar sesión"),
    ("Conteúdo exclusivo para assinantes\nJá é assinante? Entrar", "Folha de S.Paulo"),
    ("هذا المحتوى متاح للمشتركين فقط\nسجل الدخول", "الجزيرة"),
])
def test_login_walls(text: str, title: str) -> None:
    assert is_login_wall(text, title)


def test_article_with_sign_in_link_is_not_a_login_wall() -> None:
    assert not is_login_wall("Sign in\n" + ARTICLE, "Water utility raises rates")


def test_missing_content_behind_login_prompt_is_an_error_page() -> None:
    text = "This content isn't available right now\nLog in to continue\nEmail or phone\nPassword"
    assert not is_login_wall(text, "Facebook")
    assert "error phrase: 'this content isn't available right now' (en)" in error_phrases(text, "Facebook")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.instagram.com/accounts/login/?next=/p/C3xYz12AbCd/", True),
    ("https://www.facebook.com/login.php?next=x", True),
    ("https://accounts.google.com/ServiceLogin?service=youtube", True),
    ("https://www.lemonde.fr/sign-in", True),
    ("https://news.example.org/2023/05/login-data-breach", False),
    ("https://news.example.org/authors/marta", False),
    (None, False),
])
def test_is_login_url(url: str | None, expected: bool) -> None:
    assert is_login_url(url) is expected
