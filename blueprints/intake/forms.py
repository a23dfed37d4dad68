"""The CSV upload form and the checks an uploaded file passes before it is stored."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import SelectField
from wtforms.validators import InputRequired

from models.errors import InvalidInput

MAX_BYTES = 50 * 1024 * 1024
EXTENSIONS = (".csv", ".txt", ".tsv")
# What a spreadsheet program writes when "CSV" was not chosen.
NOT_TEXT = {
    b"PK\x03\x04": _l("an Excel workbook (.xlsx)"),
    b"\xd0\xcf\x11\xe0": _l("an old Excel workbook (.xls)"),
    b"\xff\xfe": _l("Unicode (UTF-16) text"),
    b"\xfe\xff": _l("Unicode (UTF-16) text"),
}
SAVE_AS = _l("In Excel, use File › Save as › “CSV UTF-8 (comma delimited)”.")


class TooLarge(InvalidInput):
    """The file is over the size limit."""

    status_code = 413
    title = _l("File too large")


class NotCsv(InvalidInput):
    """The file is not a CSV text file."""

    status_code = 415
    title = _l("Not a CSV file")


class UploadForm(FlaskForm):
    """A channel and a file; the channel's choices are the active channels."""

    channel = SelectField(_l("Channel"), coerce=int, validators=[InputRequired()])
    file = FileField(_l("CSV file"))


def upload_content(storage: FileStorage | None) -> tuple[str, bytes]:
    """(file name, bytes) of an acceptable upload; a refusal with its reason otherwise."""
    if storage is None or not storage.filename:
        raise InvalidInput(_("Choose a CSV file to upload."))
    name = storage.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name.lower().endswith(EXTENSIONS):
        raise NotCsv(_("“%(name)s” is not a CSV file. %(save_as)s", name=name,
                       save_as=SAVE_AS))
    content = storage.stream.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise TooLarge(_("“%(name)s” is larger than %(mb)s MB. Split it into smaller files.",
                         name=name, mb=MAX_BYTES // 2**20))
    if not content.strip():
        raise InvalidInput(_("“%(name)s” is empty.", name=name))
    for magic, kind in NOT_TEXT.items():
        if content.startswith(magic):
            raise NotCsv(_("“%(name)s” is %(kind)s, not CSV text. %(save_as)s", name=name,
                           kind=kind, save_as=SAVE_AS))
    if b"\x00" in content[:65536]:
        raise NotCsv(_("“%(name)s” is not text. %(save_as)s", name=name, save_as=SAVE_AS))
    return name, content


class ButtonForm(FlaskForm):
    """An empty form: the Import button's CSRF token."""
