"""What every list's filter form shares: a date range that must not run backwards, and a
keyset cursor that must be one the list produced."""

from flask_babel import gettext as _
from wtforms.validators import ValidationError


class DateRangeChecks:
    """Mixin for a filter form with `from_` and `to` date fields."""

    def validate_to(self, field):
        """A range must not end before it starts."""
        if field.data and self.from_.data and field.data < self.from_.data:
            raise ValidationError(_("The end date is before the start date."))


def check_cursor(cursor_type, field) -> None:
    """Refuse a page cursor that `cursor_type.decode` cannot read."""
    if field.data:
        try:
            cursor_type.decode(field.data)
        except ValueError:
            raise ValidationError(
                _("That page link is broken; start from the first page.")) from None
