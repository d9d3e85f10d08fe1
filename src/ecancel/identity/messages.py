"""What a buyer reads when a check fails: plain words for every stable reason code.

Codes come from ``faces`` (with ``_a``/``_b`` telling which picture; a face check names the ID
portrait ``_reference`` and the first check's capture ``_previous``), ``liveness``,
``video``, ``reading``, ``uploads`` and the providers. A code without its own sentence falls back to
its base code, then to a general sentence, so a new code never shows as a raw identifier.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

REASON_MESSAGES: dict[str, Promise] = {
    # faces and liveness
    "no_face": _("没有找到人脸：请正对镜头，让整张脸出现在画面中"),
    "several_faces": _("画面中有不止一张人脸：请确保只有您本人在镜头前"),
    "no_face_reference": _("证件照片上的人像无法识别：请重新拍摄证件人像面"),
    "several_faces_reference": _("证件照片上的人像无法识别：请重新拍摄证件人像面"),
    "too_dark_reference": _("证件照片上的人像无法识别：请重新拍摄证件人像面"),
    "face_too_small_reference": _("证件照片上的人像无法识别：请重新拍摄证件人像面"),
    "too_dark": _("光线太暗：请到明亮处再试"),
    "too_bright": _("光线太强：请避开强光再试"),
    "face_too_small": _("人脸太小：请靠近镜头一些"),
    "face_too_far": _("人脸太小：请靠近镜头一些"),
    "face_too_close": _("离镜头太近：请稍微远离镜头"),
    "face_incomplete": _("人脸不完整：请让整张脸出现在画面中"),
    "eyes_closed": _("请睁开眼睛再试"),
    "poor_quality": _("画面不够清晰：请保持手机稳定，在光线充足处再试"),
    "mismatch": _("现场人脸与证件照片不是同一人"),
    "mismatch_previous": _("本次人脸与您上一次核验时的人脸不一致"),
    "face_mismatch": _("视频中的人脸与证件照片不是同一人"),
    "too_few_frames": _("采集的画面太少：请按提示完成动作，录满整段时间"),
    "no_motion": _("没有检测到头部动作：请按提示转头或点头，不要使用照片"),
    "action_not_done": _("没有完成指定动作：请按屏幕提示的方向转头或点头"),
    "liveness_failed": _("活体检测未通过：请本人按提示重新操作"),
    "replayed_capture": _("这段画面之前已经提交过：请重新现场拍摄"),
    "nonce_mismatch": _("核验凭证不符：请重新开始核验"),
    "no_reference": _("还没有可比对的证件人像：请先上传身份证人像面"),
    "no_action": _("核验未指定动作：请重新开始"),
    # documents
    "document_expired": _("证件已过有效期：请使用有效期内的证件"),
    "document_unreadable": _("证件上的文字无法识别：请在光线充足处正对证件重新拍摄"),
    "no_document": _("照片中没有找到证件：请将证件完整放入画面"),
    "document_too_small": _("证件在画面中太小：请靠近一些重新拍摄"),
    "blurry": _("照片模糊：请保持手机稳定后重新拍摄"),
    "number_mismatch": _("证件号码与登记的号码不一致"),
    "name_mismatch": _("证件上的姓名与登记的姓名不一致"),
    "wrong_document": _("上传的证件类型不对：请上传所要求的证件"),
    "number_invalid": _("证件号码读出来不是有效号码：请正对证件重新拍摄，让号码清晰可见"),
    "birth_mismatch": _("证件上的出生日期与证件号码不符：请重新拍摄，若仍不符请联系公证处"),
    "sex_mismatch": _("证件上的性别与证件号码不符：请重新拍摄，若仍不符请联系公证处"),
    "not_yet_valid": _("证件尚未生效：请使用已生效的证件"),
    "mrz_unreadable": _("护照底部的两行机读码无法识别：请让机读码完整、清晰地出现在画面中"),
    "mrz_invalid": _("护照机读码校验不通过：请重新拍摄护照资料页"),
    "missing": _("证件上有内容没有识别出来：请在光线充足处正对证件重新拍摄"),
    "document_kind_unsupported": _("暂不支持自动识别这种证件，将由公证员人工审核"),
    # video
    "too_short": _("视频太短：请录满约15秒"),
    "too_long": _("视频太长：请录制约15秒"),
    "no_audio": _("视频没有声音：请允许使用麦克风，并朗读屏幕上的文字"),
    "silent": _("视频中几乎听不到声音：请在安静处大声朗读屏幕上的文字"),
    "video_reused": _("这段视频已在其他案件中使用过，需由公证员人工审核"),
    "unreadable_video": _("视频无法打开：请重新录制"),
    "no_video": _("文件中没有视频画面：请重新录制"),
    "wrong_codec": _("视频格式不受支持：请使用手机自带相机重新录制"),
    # files
    "unreadable_image": _("图片无法打开：请重新拍摄"),
    "unreadable_capture": _("采集的画面无法打开：请重新拍摄"),
    "empty": _("文件为空：请重新上传"),
    "too_large": _("文件太大：请重新拍摄或压缩后上传"),
    "wrong_type": _("文件类型不对：照片请用JPEG或PNG，视频请用WebM或MP4"),
    "truncated": _("文件不完整：请重新上传"),
    "bomb": _("图片异常，已拒绝：请重新拍摄"),
    "too_many_pixels": _("图片像素过大：请重新拍摄"),
    "damaged": _("文件已损坏：请重新上传"),
    # providers
    "provider_not_enabled": _("核验服务暂未开通，请联系公证处"),
}
GENERAL_MESSAGE = _("核验未通过：请按提示重新操作")
SUFFIXES = ("_previous", "_reference", "_a", "_b")


def reason_message(code: str) -> str:
    """The sentence for one reason code, in the active language."""
    message = REASON_MESSAGES.get(code)
    if message is None and code.startswith("missing_"):  # reading: missing_<field>
        message = REASON_MESSAGES["missing"]
    if message is None:
        for suffix in SUFFIXES:
            if code.endswith(suffix):
                message = REASON_MESSAGES.get(code.removesuffix(suffix))
                break
    return str(message if message is not None else GENERAL_MESSAGE)


def reason_messages(codes: list[str] | tuple[str, ...]) -> list[str]:
    """One sentence per distinct message, in the order of the codes."""
    return list(dict.fromkeys(reason_message(code) for code in codes))


def tries_left_message(tries_left: int) -> str:
    if tries_left <= 0:
        return str(_("自动核验次数已用完，将转由公证员人工审核"))
    return str(_("还可以再试%(count)d次")) % {"count": tries_left}
