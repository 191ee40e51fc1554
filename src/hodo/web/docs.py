"""The ontology's documentation page and the downloads of every release artifact.

The release is immutable, so what the pages show is computed once per app and kept; only the
rendering (which depends on the page language) happens per request.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)

from hodo.core.i18n import add_messages, pick_label, translate
from hodo.core.namespaces import shorten
from hodo.core.release import (
    CHANGELOG_FILE,
    CHANGELOG_FILES,
    SHAPES_PREFIX,
    EarlierRelease,
    verified_releases,
    version_iri,
)
from hodo.pipeline.diff import KINDS
from hodo.site import docs
from hodo.web.state import get_release
from hodo.web.state import state as app_state

bp = Blueprint("docs", __name__)

add_messages({
    "docs_title": {"en": "Ontology documentation", "zh": "本体文档"},
    "docs_contents": {"en": "Contents", "zh": "目录"},
    "docs_metadata": {"en": "Metadata", "zh": "元数据"},
    "docs_iri": {"en": "Ontology IRI", "zh": "本体 IRI"},
    "docs_version": {"en": "Version", "zh": "版本"},
    "docs_version_iri": {"en": "Version IRI", "zh": "版本 IRI"},
    "docs_license": {"en": "Licence", "zh": "许可协议"},
    "docs_source": {"en": "Source article", "zh": "来源文章"},
    "docs_creators": {"en": "Creators", "zh": "创建者"},
    "docs_contributors": {"en": "Contributors", "zh": "贡献者"},
    "docs_cite": {"en": "How to cite", "zh": "引用方式"},
    "docs_reused": {"en": "Reused ontologies", "zh": "复用的本体"},
    "docs_prefix": {"en": "Prefix", "zh": "前缀"},
    "docs_terms": {"en": "Terms reused", "zh": "复用术语数"},
    "docs_classes": {"en": "Class hierarchy", "zh": "类层级"},
    "docs_classes_note": {"en": "Asserted and inferred subclass axioms; a class with several "
                                "parents appears under each.",
                          "zh": "包括声明的和推理得出的子类公理；"
                                "有多个父类的类出现在每个父类之下。"},
    "docs_properties": {"en": "Properties", "zh": "属性"},
    "docs_kind_ObjectProperty": {"en": "Object properties", "zh": "对象属性"},
    "docs_kind_DatatypeProperty": {"en": "Data properties", "zh": "数据属性"},
    "docs_kind_AnnotationProperty": {"en": "Annotation properties", "zh": "注释属性"},
    "docs_property": {"en": "Property", "zh": "属性"},
    "docs_domain": {"en": "Domain", "zh": "定义域"},
    "docs_range": {"en": "Range", "zh": "值域"},
    "docs_definition": {"en": "Definition", "zh": "定义"},
    "docs_shapes": {"en": "SHACL shapes", "zh": "SHACL 形状"},
    "docs_shape": {"en": "Shape", "zh": "形状"},
    "docs_file": {"en": "File", "zh": "文件"},
    "docs_target": {"en": "Target", "zh": "目标"},
    "docs_path": {"en": "Path", "zh": "路径"},
    "docs_severity": {"en": "Severity", "zh": "严重程度"},
    "docs_message": {"en": "Message", "zh": "消息"},
    "docs_counts": {"en": "Counts", "zh": "统计"},
    "docs_count_classes": {"en": "Classes", "zh": "类"},
    "docs_count_object_properties": {"en": "Object properties", "zh": "对象属性"},
    "docs_count_data_properties": {"en": "Data properties", "zh": "数据属性"},
    "docs_count_annotation_properties": {"en": "Annotation properties", "zh": "注释属性"},
    "docs_count_findings": {"en": "Findings", "zh": "研究发现"},
    "docs_count_references": {"en": "Bibliography entries", "zh": "参考文献条目"},
    "docs_count_mappings": {"en": "Mappings", "zh": "映射"},
    "docs_graph": {"en": "Named graph", "zh": "命名图"},
    "docs_triples": {"en": "Triples", "zh": "三元组"},
    "docs_downloads": {"en": "Downloads", "zh": "下载"},
    "docs_downloads_intro": {"en": "Every file of this release, with its SHA-256 checksum.",
                             "zh": "本版本的全部文件及其 SHA-256 校验和。"},
    "docs_size": {"en": "Size (bytes)", "zh": "大小（字节）"},
    "docs_description": {"en": "What it is", "zh": "内容"},
    "docs_media_type": {"en": "Media type", "zh": "媒体类型"},
    "docs_checksum": {"en": "SHA-256", "zh": "SHA-256"},
    "docs_verified": {"en": "matches SHA256SUMS", "zh": "与 SHA256SUMS 一致"},
    "docs_mismatch": {"en": "differs from SHA256SUMS", "zh": "与 SHA256SUMS 不一致"},
    "docs_unlisted": {"en": "not in SHA256SUMS", "zh": "不在 SHA256SUMS 中"},
    "docs_group_release": {"en": "Release files", "zh": "发布文件"},
    "docs_group_shapes": {"en": "SHACL shapes", "zh": "SHACL 形状"},
    "docs_json": {"en": "This list as JSON", "zh": "本列表的 JSON 格式"},
    "docs_earlier": {"en": "Earlier releases", "zh": "早期版本"},
    "docs_earlier_intro": {
        "en": "Each earlier release this server holds, at its version IRI, with what changed "
              "in it.",
        "zh": "本服务器保存的每个早期版本，位于其版本 IRI 处，并附其变更内容。"},
    "docs_date": {"en": "Date", "zh": "日期"},
    "docs_changes": {"en": "Changes", "zh": "变更"},
    "docs_first_release": {"en": "first release", "zh": "首个版本"},
    "docs_no_changes": {"en": "no changes", "zh": "无变更"},
})



def _data() -> dict[str, Any]:
    """Everything the two pages show, computed once per release."""
    release = get_release()
    cache = app_state().docs
    if cache.get("release") is not release:
        store = release.store
        cache.clear()
        cache.update(release=release, header=docs.header(store), reused=docs.reused_terms(store),
                     tree=docs.class_tree(store), properties=docs.properties(store),
                     shapes=docs.shapes(release.path.parent, f"{SHAPES_PREFIX}*.ttl"),
                     counts=docs.counts(store),
                     graphs=docs.graph_sizes(store), labels=docs.labels_of(store),
                     definitions=docs.definitions_of(store),
                     downloads={d.name: d for d in docs.downloads(release.path.parent)},
                     earlier=held_releases())
        cache["citation"] = docs.citation(cache["header"])
    return cache


def _helpers(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """Template functions: a term's label or definition in the page language, with its own."""
    def label(iri: str) -> tuple[str, str]:
        return pick_label(data["labels"].get(iri, {}), lang) or (shorten(iri), lang)

    def text(values: dict[str, str]) -> tuple[str, str] | None:
        return pick_label(values, lang)

    return {"label": label, "text": text, "curie": shorten,
            "definition": lambda iri: text(data["definitions"].get(iri, {})),
            "changes": lambda release: change_summary(release, lang),
            "changelog": lambda release: changelog_file(release, lang),
            "version_iri": version_iri, "version_path": version_path}


def init_app(app: Flask) -> None:
    """Read and verify the earlier releases (``HODO_RELEASES``) once, before the server forks:
    one that cannot be verified stops the server at start-up, not a visitor's request.

    Raises:
        ReleaseError: an earlier release is misnamed or its files are not those it lists.
    """
    app_state(app).earlier = verified_releases(app_state(app).settings.releases)
    app.register_blueprint(bp)


def held_releases() -> list[EarlierRelease]:
    """The earlier releases this server holds (``HODO_RELEASES``), newest first, without the
    release it serves as the current one."""
    served = get_release().version
    return [r for r in app_state().earlier if r.version != served]


def change_summary(release: EarlierRelease, lang: str) -> str:
    """What changed in a release, in words: the count of each kind of change."""
    if release.first:
        return translate("docs_first_release", lang)
    parts = [f"{translate('diff_' + kind.key, lang)}: {release.counts[kind.key]}"
             for kind in KINDS if release.counts.get(kind.key)]
    return "; ".join(parts) or translate("docs_no_changes", lang)


def changelog_file(release: EarlierRelease, lang: str) -> str | None:
    """The release's changelog in ``lang``, else its English one (a release built before
    HODO wrote its changelog in Chinese has that alone); None: it has none."""
    for name in (CHANGELOG_FILES.get(lang), CHANGELOG_FILES["en"]):
        if name and name in release.files:
            return name
    return None


def version_path(version: str, name: str) -> str:
    """Where a file of the release ``version`` is served."""
    return url_for("deref.resource", local=f"releases/{version}/{name}")


@bp.get("/ontology")
def ontology() -> str:
    """The documentation of the ontology in the page language."""
    data = _data()
    return render_template("ontology.html", lang=g.lang, d=data, **_helpers(data, g.lang))


@bp.get("/downloads")
def downloads() -> str:
    """Every release file, the shapes and the mappings with size and checksum."""
    data = _data()
    return render_template("downloads.html", lang=g.lang, d=data, **_helpers(data, g.lang))


@bp.get("/downloads.json")
def downloads_json() -> Response:
    """The same list for programs."""
    data = _data()
    head: docs.Header = data["header"]
    files = [{"name": d.name, "url": url_for("docs.download", name=d.name, _external=True),
              "kind": d.kind, "mediaType": d.media_type, "size": d.size, "sha256": d.sha256,
              "listedSha256": d.listed_sha256, "verified": d.verified,
              "description": d.description}
             for d in data["downloads"].values()]
    earlier = [{"version": r.version, "date": r.date,
                "versionIRI": str(version_iri(r.version)),
                "url": url_for("deref.resource", local=f"releases/{r.version}/hodo.owl",
                               _external=True),
                "changelog": url_for("deref.resource",
                                     local=f"releases/{r.version}/{CHANGELOG_FILE}",
                                     _external=True),
                "changelogs": {lang: url_for("deref.resource",
                                             local=f"releases/{r.version}/{name}",
                                             _external=True)
                               for lang, name in CHANGELOG_FILES.items() if name in r.files},
                "first": r.first, "changes": r.counts}
               for r in data["earlier"]]
    return jsonify({"version": head.version, "versionIRI": head.version_iri,
                    "ontology": head.iri, "license": head.license, "files": files,
                    "earlierReleases": earlier})


@bp.get("/downloads/<name>")
def download(name: str) -> Response:
    """One listed file; any other name, however spelt, is a 404 and nothing is read."""
    item: docs.Download | None = _data()["downloads"].get(name)
    if item is None:
        abort(404)
    headers = {"ETag": f'"{item.sha256}"',
               "Content-Disposition": f'attachment; filename="{item.name}"'}
    if request.if_none_match.contains(item.sha256):
        return Response(status=304, headers=headers)
    return Response(item.path.read_bytes(), content_type=item.media_type,
                    headers=headers)

