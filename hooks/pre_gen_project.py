"""Refuse answers that would generate a broken project (standard library only).

Cookiecutter renders this file with the answers, then runs it before writing
anything; a non-zero exit stops generation with nothing half-written.
"""

import keyword
import re
import sys

ANSWERS = {
    "project_name": """{{ cookiecutter.project_name }}""",
    "project_slug": """{{ cookiecutter.project_slug }}""",
    "author_email": """{{ cookiecutter.author_email }}""",
    "domain_name": """{{ cookiecutter.domain_name }}""",
    "python_version": """{{ cookiecutter.python_version }}""",
    "django_version": """{{ cookiecutter.django_version }}""",
    "postgresql_version": """{{ cookiecutter.postgresql_version }}""",
    "registry_image": """{{ cookiecutter.registry_image }}""",
    "use_redis": """{{ cookiecutter.use_redis }}""",
    "use_cron": """{{ cookiecutter.use_cron }}""",
}

CHOICES = {
    "python_version": ("3.12", "3.13"),
    "django_version": ("5.2", "6.1"),
    "postgresql_version": ("18", "17", "16", "15"),
    "use_redis": ("y", "n"),
    "use_cron": ("y", "n"),
}

# Names the project package must not shadow: it sits first on sys.path.
RESERVED_SLUGS = {
    "django", "swarmkit", "test", "tests", "config", "deploy", "docker",
    "requirements", "scripts", "static", "media", "site", "logging", "email",
    "json", "secrets", "http", "types", "visits", "gunicorn",
}

SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# RFC 1123 host name with at least one dot; no scheme, port or path.
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
# Docker reference without tag or digest: [registry[:port]/]path, lower case.
IMAGE = re.compile(
    r"^((?:[a-z0-9]([a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def problems(answers):
    """Return one message per invalid answer, each saying what to enter instead."""
    found = []
    name = answers["project_name"]
    if not name.strip():
        found.append("project_name is empty: give the project a name, e.g. 'Acme Shop'")
    slug = answers["project_slug"]
    if not SLUG.match(slug) or keyword.iskeyword(slug):
        found.append(
            f"project_slug {slug!r} is not a valid package name: use lower-case letters, "
            "digits and underscores, starting with a letter (at most 40), e.g. 'acme_shop'"
        )
    elif slug in RESERVED_SLUGS:
        found.append(
            f"project_slug {slug!r} would shadow a package or folder the project uses: "
            "pick another name, e.g. 'acme_shop'"
        )
    domain = answers["domain_name"]
    if not DOMAIN.match(domain):
        found.append(
            f"domain_name {domain!r} is not a host name: give the bare domain in lower case, "
            "without scheme, port or path, e.g. 'shop.example.com'"
        )
    email = answers["author_email"]
    if not EMAIL.match(email):
        found.append(f"author_email {email!r} is not an e-mail address, e.g. 'web@example.com'")
    image = answers["registry_image"]
    if not IMAGE.match(image):
        found.append(
            f"registry_image {image!r} is not an image path without tag: use lower case, "
            "no ':tag' or '@digest' (the pipeline adds the commit SHA), "
            "e.g. 'registry.gitlab.com/acme/shop'"
        )
    for key, allowed in CHOICES.items():
        if answers[key] not in allowed:
            found.append(f"{key} {answers[key]!r} is not supported: choose one of {', '.join(allowed)}")
    return found


def main():
    found = problems(ANSWERS)
    for message in found:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
