"""Login profiles (issue 14): browser storage states (cookies, local storage) saved in the home after a
scripted or interactive login, or imported, and used by captures named ``--profile NAME``.

``store``: names, files (mode 0600 in a 0700 directory), listing, import, removal. ``login``: the
scripted and interactive logins through Chromium, behind the private-address guard.
"""
