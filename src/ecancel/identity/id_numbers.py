"""Identity document numbers: types and validation."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdType(models.TextChoices):
    MAINLAND_ID = "mainland_id", _("居民身份证")
    HK_MACAO_PERMIT = "hk_macao_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit", _("港澳台居民居住证")
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident", _("外国人永久居留身份证")
    PASSPORT = "passport", _("护照")
    HKID = "hkid", _("香港身份证")
