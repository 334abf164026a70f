"""Realistic main texts for the verdict tests (written for these tests)."""

from __future__ import annotations

ARTICLE = """Water utility raises rates for the third time in two years

The regional water utility approved on Tuesday a rate increase of 12 percent for households, the third
increase since 2022, after a four-hour public hearing in which more than sixty residents spoke against it.

The utility's director, Marta Ibáñez, said the increase was needed to replace pipes installed in the 1960s
that lose nearly a quarter of the treated water before it reaches a tap. "We cannot keep patching a network
that is older than most of the people in this room," she told the board.

Residents of the eastern districts, where the average household already spends 6 percent of its income on
water, asked the board to phase the increase in over three years. Two board members voted against the
measure, citing an audit from last spring that found the utility had spent less than half of its
maintenance budget.

The audit, published by the state comptroller in April, said the utility had awarded three contracts
without competitive bidding and could not document how 4.1 million dollars of a federal grant had been
used. The utility disputed the findings and said the documents had been provided after the audit closed.

The new rates take effect on the first of next month. Households that receive food assistance can apply
for a 40 percent discount, the utility said, although advocates noted that fewer than one in five eligible
families enrolled in the program last year.

The board will hold a second hearing on the capital plan in November."""

CORRECTED = ARTICLE.replace(
    "could not document how 4.1 million dollars of a federal grant had been\nused.",
    "could not document how 1.4 million dollars of a federal grant had been\nused.",
) + "\n\nCorrection: An earlier version of this article misstated the amount of the federal grant."

OTHER_ARTICLE = """Local bakery wins national bread competition

A family bakery that opened in a converted garage eleven years ago took first place in the national
sourdough competition this weekend, beating more than three hundred entries from across the country.

The owners, siblings Tomás and Lucía Ferreira, said their starter was a gift from their grandmother, who
kept it alive through two moves and a flood. The judges praised the crust and the open crumb of the loaf,
which is baked with a blend of rye and locally milled wheat.

The prize includes a cash award and a week-long residency at a culinary school. The siblings said they
would use the money to buy a second oven, which would let them stay open on Mondays.

Lines outside the bakery stretched around the block on Sunday morning, and the shop sold out before ten."""

VIDEO_PAGE = """Inside the flooded archives: how librarians saved a century of newspapers

When the river broke its banks in March, the basement of the municipal library held 112 years of bound
newspapers. This documentary follows the volunteers who froze, dried and scanned them over six months.

Chapters: 0:00 The flood 4:12 Freezing the volumes 11:40 Vacuum drying 19:05 What was lost

Produced with support from the regional heritage fund. Interviews in English and Spanish, with subtitles."""

YOUTUBE_UNAVAILABLE = """Video unavailable
This video is no longer available because the YouTube account associated with this video has been
terminated."""

LATEST_NEWS = """Latest news
City council approves new bike lanes on Main Street
Storm leaves thousands without power in the north
High school robotics team heads to the finals
Museum reopens after two-year renovation
Opinion: the case for a four-day school week"""

HOME_PAGE = """The Valley Courier
Your daily source for news from the valley since 1921
Top stories
Council approves budget after late-night session
Drought restrictions lifted for the first time in three years
Sports: Eagles clinch the regional title
Weather: sunny, with a high of 24 degrees
Subscribe to our newsletter for the morning headlines"""

INSTAGRAM_LOGIN = """Log in
Phone number, username, or email
Password
Forgot password?
Don't have an account? Sign up"""

LE_MONDE_PAYWALL = """Les négociations sur le climat reprennent à Bonn
Les délégations de 190 pays se retrouvent lundi pour préparer la prochaine conférence, dans un climat de
méfiance entre pays du Nord et du Sud sur le financement de l'adaptation.
Il vous reste 85% de cet article à lire. La suite est réservée aux abonnés.
Déjà abonné ? Se connecter"""
