"""The web console (issue 16): pages for operators and for partners who fulfil by hand, served
by `gateway serve` as an ASGI application.

Strategy: an edge like the command line. Every page reads through the service layer and every
action goes through the same order desk, bus and rules as `gateway fulfil` and the others, so a
refusal is the rule's own sentence, shown beside the form. Pages are drawn on the server with
Jinja2 (autoescaped), htmx (vendored in `static/`) swaps parts of them; nothing needs
JavaScript to work, and no page loads anything from elsewhere::

    app         the application: routes, sign-in, sessions, CSRF, headers, errors
    viewer      who is asking, and what their role lets them see and do
    forms       a submitted form read into the desk's arguments (lines, amounts, dates)
    orders      the order list and the order page, with its actions
    documents   documents, quarantine, partners, mail
    admin       the users, for admins
    charts      the home page's pictures, as SVG
"""
