"""Login, second-factor code and account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from models.passwords import MAX_LENGTH


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class CodeForm(FlaskForm):
    """The 6-digit code an authenticator app shows."""

    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(max=12)])


class PasswordChangeForm(FlaskForm):
    """The current password, then the new one twice."""

    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(), Length(max=MAX_LENGTH)])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    again = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])


class EmptyForm(FlaskForm):
    """A POST-only button that still carries the CSRF token."""
