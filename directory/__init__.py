"""Creating the records managers keep: accounts, contacts, products and engineers."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.phones import to_e164
from models import Account, Contact, Engineer, Product


class DirectoryError(ValueError):
    """A record that cannot be created as asked; the message says why."""


def find_account(session: Session, name_or_id: str) -> Account:
    """The account with this id or exact name (case-insensitive), or DirectoryError."""
    account = None
    if name_or_id.isdigit():
        account = session.get(Account, int(name_or_id))
    if account is None:
        account = session.scalars(
            select(Account).where(Account.name.ilike(name_or_id.strip()))
        ).first()
    if account is None:
        raise DirectoryError(f"no account named {name_or_id!r}")
    return account


def create_account(session: Session, name: str, product_codes: list[str] | None = None) -> Account:
    """A new account, linked to the products with these codes (made when missing)."""
    name = name.strip()
    if not name:
        raise DirectoryError("an account needs a name")
    if session.scalars(select(Account).where(Account.name.ilike(name))).first():
        raise DirectoryError(f"an account named {name!r} already exists")
    account = Account(name=name)
    account.products = [ensure_product(session, code) for code in product_codes or []]
    session.add(account)
    session.flush()
    return account


def set_account_timezone(account: Account, timezone: str | None) -> None:
    """The clock the customer's messages use; None falls back to HOTLINE_TIMEZONE."""
    if timezone:
        _check_timezone(timezone)
    account.timezone = timezone or None


def _check_timezone(timezone: str) -> None:
    """DirectoryError unless `timezone` is an IANA time zone name."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DirectoryError(
            f"{timezone!r} is not a time zone name such as Europe/London"
        ) from None


def ensure_product(session: Session, code: str, name: str | None = None) -> Product:
    """The product with this code, created when it does not exist yet."""
    code = code.strip().lower()
    if not code:
        raise DirectoryError("a product needs a code")
    product = session.scalars(select(Product).where(Product.code == code)).first()
    if product is None:
        product = Product(code=code, name=name or code.replace("-", " ").title())
        session.add(product)
        session.flush()
    return product


def add_contact(
    session: Session,
    account: Account,
    name: str,
    phone: str | None,
    email: str | None,
    is_technical: bool = True,
) -> Contact:
    """A contact of `account`, with the phone normalised to E.164."""
    if not name.strip():
        raise DirectoryError("a contact needs a name")
    if email and "@" not in email:
        raise DirectoryError(f"{email!r} is not an email address")
    contact = Contact(
        account=account,
        name=name.strip(),
        phone=to_e164(phone) if phone else None,
        email=email or None,
        is_technical=is_technical,
    )
    session.add(contact)
    session.flush()
    return contact


def add_engineer(
    session: Session, name: str, phone: str, email: str | None, timezone: str = "UTC"
) -> Engineer:
    """An on-call engineer with a dialable phone and a real time zone."""
    if not name.strip():
        raise DirectoryError("an engineer needs a name")
    _check_timezone(timezone)
    e164 = to_e164(phone)
    if session.scalars(select(Engineer).where(Engineer.phone == e164)).first():
        raise DirectoryError(f"an engineer with phone {e164} already exists")
    engineer = Engineer(name=name.strip(), phone=e164, email=email or None, timezone=timezone)
    session.add(engineer)
    session.flush()
    return engineer
