"""Test-only pages carrying each hook of the buyer scripts, and views that keep what the scripts send.

Registered through ``@pytest.mark.urls("tests.browser.pages")``: the real URLs plus ``/hooks/...``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path

from ecancel.config.urls import urlpatterns as real_urlpatterns

received: dict[str, Any] = {}
poll_calls: list[int] = []

PAGES = {
    "upload": """
<form data-upload method="post" enctype="multipart/form-data" action="/hooks/upload/"
      data-msg-network="网络连接中断，请重试">
  {% csrf_token %}<label>照片 <input type="file" name="photo" accept="image/*" required></label>
  <progress data-upload-progress hidden></progress><p data-upload-error role="alert" hidden></p>
  <button type="submit">上传</button></form>""",
    "signature": """
<form data-signature method="post" action="/hooks/signature/" data-msg-empty="请先在框内签名">{% csrf_token %}
  <canvas data-signature-pad width="340" height="200" aria-label="签名区"></canvas>
  <input type="hidden" name="signature">
  <button type="button" data-signature-clear>清除</button><button type="button" data-signature-undo>撤销一笔</button>
  <button type="submit">确认签名</button></form>""",
    "camera": """
<form data-camera-capture data-field="frames" data-frames="3" data-frame-interval-ms="100" method="post"
      enctype="multipart/form-data" action="/hooks/camera/" data-msg-camera-denied="无法使用摄像头"
      data-msg-network="网络连接中断">
  {% csrf_token %}<video data-camera-preview playsinline muted aria-label="预览"></video>
  <button type="button" data-camera-shoot>开始拍摄</button>
  <label>或拍摄一段短视频 <input type="file" name="video" accept="video/*" capture="user"></label>
  <progress data-upload-progress hidden></progress><p data-upload-error role="alert" hidden></p>
  <button type="submit">提交</button></form>""",
    "video": """
<form data-video-recorder data-seconds="{{ seconds }}" method="post" enctype="multipart/form-data"
      action="/hooks/video/"
      data-msg-too-short="视频太短" data-msg-network="网络连接中断" data-msg-camera-denied="无法使用摄像头或麦克风">
  {% csrf_token %}<video data-recorder-preview playsinline muted aria-label="预览"></video>
  <p>请在录制时朗读：</p><p data-text-to-read>本人自愿申请注销</p>
  <p data-recorder-countdown aria-live="polite"></p>
  <button type="button" data-recorder-start>开始录制</button><button type="button" data-recorder-stop>结束录制</button>
  <button type="button" data-recorder-again>重新录制</button>
  <label>或选择录好的视频 <input type="file" name="video" accept="video/*"></label>
  <progress data-upload-progress hidden></progress><p data-upload-error role="alert" hidden></p>
  <button type="submit" data-recorder-submit>提交视频</button></form>""",
    "read": """
<form data-read-all method="post" action="/hooks/done/">{% csrf_token %}<ul>
  <li><a data-doc-open href="/hooks/done/?doc=1" target="_blank" rel="noopener">告知书</a></li>
  <li><a data-doc-open href="/hooks/done/?doc=2" target="_blank" rel="noopener">申请表</a></li></ul>
  <label><input type="checkbox" name="agree" value="yes" data-agree> 同意继续</label>
  <button type="submit">下一步</button></form>""",
    "poll": """
<div data-poll="/hooks/poll-answer/" data-poll-interval-ms="200" aria-live="polite"><p>正在核验</p></div>""",
    "done": """<h1>已收到</h1>""",
}


def _page(request: HttpRequest, name: str) -> HttpResponse:
    source = '{% extends "buyer/base.html" %}{% block content %}<h1>测试页</h1>' + PAGES[name] + "{% endblock %}"
    template = engines["django"].from_string(source)
    context = {"step_number": 2, "step_count": 9, "seconds": request.GET.get("seconds", "15")}
    return HttpResponse(template.render(context, request))


def page_view(request: HttpRequest, name: str) -> HttpResponse:
    if request.method == "POST":
        received[name] = {
            "POST": request.POST.dict(),
            "FILES": {k: [f.read() for f in request.FILES.getlist(k)] for k in request.FILES},
        }
        if request.headers.get("X-Requested-With") == "XMLHttpRequest":
            return JsonResponse({"ok": True, "next": "/hooks/done/"})
        return redirect("/hooks/done/")
    return _page(request, name)


def poll_answer_view(request: HttpRequest) -> JsonResponse:
    poll_calls.append(1)
    if len(poll_calls) < 2:
        return JsonResponse({"done": False, "html": "<p data-progress=waiting>第二次询问</p>", "next": None})
    return JsonResponse({"done": True, "html": "", "next": "/hooks/done/"})


urlpatterns = [
    path("hooks/poll-answer/", poll_answer_view),
    path("hooks/<slug:name>/", page_view),
    *real_urlpatterns,
]
