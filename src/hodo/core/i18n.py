"""Language choice for pages and labels. Pure functions: no Flask, no store.

HODO's languages are English (``en``) and Chinese (``zh``, Simplified script). Readers are served
by ``?lang=`` first, then ``Accept-Language`` with q-values, then English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hodo.core.formats import q_value

LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANGUAGE = "en"


def normalize_tag(tag: str) -> str | None:
    """Map a BCP 47 tag onto one of HODO's languages, or None.

    >>> [normalize_tag(t) for t in ("zh-CN", "zh-Hans", "ZH_sg", "en-GB", "fr", "")]
    ['zh', 'zh', 'zh', 'en', None, None]
    """
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """HODO languages named in an ``Accept-Language`` header, best first, without repeats.

    >>> parse_accept_language("fr;q=0.9, zh-CN;q=0.8, en;q=0.5")
    ['zh', 'en']
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        q = q_value(params)
        lang = normalize_tag(tag)
        if lang and q > 0:
            weighted.append((-q, position, lang))
    seen: list[str] = []
    for _, _, lang in sorted(weighted):
        if lang not in seen:
            seen.append(lang)
    return seen


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=`` if it names a HODO language, else the header, else English.

    >>> choose_language("zh", "en"), choose_language(None, "zh-Hans"), choose_language("xx", None)
    ('zh', 'zh', 'en')
    """
    if requested:
        lang = normalize_tag(requested)
        if lang:
            return lang
    preferred = parse_accept_language(accept_language)
    return preferred[0] if preferred else DEFAULT_LANGUAGE


def pick_label(labels: Mapping[str, str], lang: str) -> tuple[str, str] | None:
    """The label in ``lang``, else in the other HODO language, with the language it is in.

    The page marks a fallback label with its own ``lang`` attribute.

    >>> pick_label({"en": "osteoporosis", "zh": "骨质疏松症"}, "zh")
    ('骨质疏松症', 'zh')
    >>> pick_label({"en": "osteoporosis"}, "zh")
    ('osteoporosis', 'en')
    """
    for candidate in (lang, *fallbacks(lang)):
        if candidate in labels:
            return labels[candidate], candidate
    return None


def fallbacks(lang: str) -> Iterable[str]:
    """Languages tried after ``lang``, in order."""
    return [other for other in LANGUAGES if other != lang]


#: Words of the pages, in both languages.
MESSAGES: dict[str, dict[str, str]] = {
    "title": {"en": "HODO: Hepatic Osteodystrophy Ontology", "zh": "HODO：肝性骨病本体"},
    "tagline": {
        "en": "The knowledge of a review article on liver disease and osteoporosis (hepatic "
              "osteodystrophy), as a bilingual OWL ontology with evidence-backed findings.",
        "zh": "一篇关于肝脏疾病与骨质疏松症（肝性骨病）的综述文章中的知识，构建为中英双语的 OWL "
              "本体，每项研究发现均有证据支持。",
    },
    "who": {
        "en": "For semantic-web researchers running SPARQL, people integrating biomedical "
              "ontologies (HODO reuses MONDO, CL, RO, ECO and others by their own IDs), and "
              "curators validating data.",
        "zh": "面向使用 SPARQL 的语义网研究者、整合生物医学本体的人员（HODO 以原始 ID 复用 MONDO、"
              "CL、RO、ECO 等本体）以及校验数据的管理员。",
    },
    "sparql": {"en": "SPARQL endpoint", "zh": "SPARQL 查询端点"},
    "start": {"en": "Start here", "zh": "从这里开始"},
    "release": {"en": "Release", "zh": "版本"},
    "statements": {"en": "Statements", "zh": "陈述"},
    "referenced_by": {"en": "Referenced by", "zh": "被引用"},
    "findings": {"en": "Findings about this term", "zh": "关于该术语的研究发现"},
    "language": {"en": "中文", "zh": "English"},
    "example_queries": {"en": "Example queries", "zh": "示例查询"},
    "run": {"en": "Run query", "zh": "执行查询"},
    "error": {"en": "Error", "zh": "错误"},
    "home": {"en": "Home", "zh": "首页"},
    "nav_article": {"en": "Article", "zh": "原文"},
    "nav_map": {"en": "Mechanism map", "zh": "机制图"},
    "nav_ontology": {"en": "Ontology", "zh": "本体文档"},
    "nav_downloads": {"en": "Downloads", "zh": "下载"},
    "nav_api": {"en": "API", "zh": "API"},
    "nav_validate": {"en": "Validate", "zh": "校验"},
    "docs_validate_link": {"en": "Check your own data against these shapes and HODO's QC rules",
                           "zh": "用这些形状约束和 HODO 的质量检查规则校验您自己的数据"},
    "start_map": {"en": "How liver diseases lead to bone loss and fracture, as the article's "
                        "findings connect them",
                  "zh": "文章研究发现所揭示的肝脏疾病导致骨量丢失与骨折的途径"},
    "start_ontology": {"en": "The ontology: its classes, properties, shapes and how to cite it",
                       "zh": "本体：类、属性、形状约束及引用方式"},
    "start_downloads": {"en": "Every release file, the shapes and the mappings, with checksums",
                        "zh": "全部发布文件、形状约束与映射，附校验和"},
    "start_search": {"en": "Search every term by any of its names, in English or Chinese",
                     "zh": "按任一名称以中文或英文搜索所有术语"},
    "start_api": {"en": "The HTTP API, described in OpenAPI", "zh": "以 OpenAPI 描述的 HTTP API"},
    "menu": {"en": "Menu", "zh": "菜单"},
    "docs_subclasses": {"en": "subclasses", "zh": "子类"},
    # a QC rule's value where a label or tag should be and none is: "(none)", "(none @en)"
    "report_none": {"en": "(none)", "zh": "（无）"},
    "report_none_in": {"en": "(none {lang})", "zh": "（无 {lang} 值）"},
    # The query page's editor (YASGUI, with its Yasqe editor, Yasr results and their DataTables
    # table) writes its own English words into the page. Each "yasgui_" entry is one of them,
    # exactly as it writes it, with the page's word for it; the page's script puts that in its
    # place. "{name}" stands for any text, "(s)" for a plural "s" that may be there.
    "yasgui_close_tab": {"en": "Close tab", "zh": "关闭标签页"},
    "yasgui_close_tab_menu": {"en": "Close Tab", "zh": "关闭标签页"},
    "yasgui_add_tab": {"en": "Add tab", "zh": "添加标签页"},
    "yasgui_add_new_tab": {"en": "Add a new tab", "zh": "添加新标签页"},
    "yasgui_new_tab": {"en": "New Tab", "zh": "新标签页"},
    "yasgui_rename_tab": {"en": "Rename Tab", "zh": "重命名标签页"},
    "yasgui_copy_tab": {"en": "Copy Tab", "zh": "复制标签页"},
    "yasgui_close_other_tabs": {"en": "Close other tabs", "zh": "关闭其他标签页"},
    "yasgui_undo_close_tab": {"en": "Undo close Tab", "zh": "恢复关闭的标签页"},
    "yasgui_open_settings": {"en": "Open settings", "zh": "打开设置"},
    "yasgui_close_settings": {"en": "Close settings", "zh": "关闭设置"},
    "yasgui_settings": {"en": "Settings", "zh": "设置"},
    "yasgui_request_method": {"en": "Request method", "zh": "请求方法"},
    "yasgui_accept_headers": {"en": "Accept Headers", "zh": "Accept 请求头"},
    "yasgui_ask_select": {"en": "Ask / Select", "zh": "ASK / SELECT 查询"},
    "yasgui_construct_describe": {"en": "Construct / Describe", "zh": "CONSTRUCT / DESCRIBE 查询"},
    "yasgui_arguments": {"en": "Arguments", "zh": "请求参数"},
    "yasgui_header_arguments": {"en": "Header Arguments", "zh": "请求头参数"},
    "yasgui_default_graphs": {"en": "Default Graphs", "zh": "默认图"},
    "yasgui_named_graphs": {"en": "Named Graphs", "zh": "命名图"},
    "yasgui_name": {"en": "Name", "zh": "名称"},
    "yasgui_value": {"en": "Value", "zh": "值"},
    "yasgui_endpoint": {"en": "SPARQL endpoint", "zh": "SPARQL 端点"},
    "yasgui_clear_endpoint": {"en": "Clear endpoint", "zh": "清除端点"},
    "yasgui_search_endpoint": {"en": "Search or add an endpoint", "zh": "搜索或添加端点"},
    "yasgui_press_enter": {"en": 'Press "enter" to add this endpoint', "zh": "按回车键添加此端点"},
    "yasgui_query": {"en": "SPARQL query", "zh": "SPARQL 查询"},
    "yasgui_share_query": {"en": "Share query", "zh": "分享查询"},
    "yasgui_shorten": {"en": "Shorten", "zh": "缩短链接"},
    "yasgui_run_query": {"en": "Run query", "zh": "执行查询"},
    "yasgui_table": {"en": "Table", "zh": "表格"},
    "yasgui_response": {"en": "Response", "zh": "原始响应"},
    "yasgui_shows_table": {"en": "Shows Table view", "zh": "显示表格视图"},
    "yasgui_shows_response": {"en": "Shows Response view", "zh": "显示原始响应视图"},
    "yasgui_doc_table": {"en": "View documentation of Table", "zh": "查看表格视图的说明"},
    "yasgui_doc_response": {"en": "View documentation of Response", "zh": "查看原始响应视图的说明"},
    "yasgui_results": {"en": "{n} result(s) in {s} second(s)", "zh": "{n} 条结果，用时 {s} 秒"},
    "yasgui_results_count": {"en": "{n} result(s)", "zh": "{n} 条结果"},
    "yasgui_simple_view": {"en": "Simple view", "zh": "简洁视图"},
    "yasgui_ellipse": {"en": "Ellipse", "zh": "截短长值"},
    "yasgui_filter": {"en": "Filter query results", "zh": "筛选查询结果"},
    "yasgui_page_size": {"en": "Page size:", "zh": "每页行数："},
    "yasgui_page_size_label": {"en": "Page size", "zh": "每页行数"},
    "yasgui_all": {"en": "All", "zh": "全部"},
    "yasgui_row": {"en": "Row", "zh": "行号"},
    "yasgui_download_result": {"en": "Download result", "zh": "下载结果"},
    "yasgui_download_results": {"en": "Download Results", "zh": "下载结果"},
    "yasgui_download_unsupported": {"en": "Download not supported", "zh": "不支持下载"},
    "yasgui_show_all": {"en": "Show all", "zh": "显示全部"},
    "yasgui_sort": {"en": "{column}: Activate to sort", "zh": "{column}：点击排序"},
    "yasgui_sort_invert": {"en": "{column}: Activate to invert sorting",
                           "zh": "{column}：点击反向排序"},
    "yasgui_sort_remove": {"en": "{column}: Activate to remove sorting",
                           "zh": "{column}：点击取消排序"},
    # before "yasgui_showing", which would also match the whole of this one
    "yasgui_showing_filtered": {
        "en": "Showing {start} to {end} of {total} entries (filtered from {all} total entries)",
        "zh": "第 {start} 至 {end} 项，共 {total} 项（从 {all} 项中筛选）"},
    "yasgui_showing_one": {"en": "Showing {start} to {end} of {total} entry",
                           "zh": "第 {start} 至 {end} 项，共 {total} 项"},
    "yasgui_showing": {"en": "Showing {start} to {end} of {total} entries",
                       "zh": "第 {start} 至 {end} 项，共 {total} 项"},
    "yasgui_filtered": {"en": "(filtered from {total} total entries)",
                        "zh": "（从 {total} 项中筛选）"},
    "yasgui_no_match": {"en": "No matching records found", "zh": "没有匹配的结果"},
    "yasgui_no_data": {"en": "No data available in table", "zh": "表中没有数据"},
    "yasgui_pagination": {"en": "pagination", "zh": "分页"},
    "yasgui_first": {"en": "First", "zh": "首页"},
    "yasgui_previous": {"en": "Previous", "zh": "上一页"},
    "yasgui_next": {"en": "Next", "zh": "下一页"},
    "yasgui_last": {"en": "Last", "zh": "末页"},
    "yasgui_true": {"en": "True", "zh": "真"},
    "yasgui_false": {"en": "False", "zh": "假"},
    "yasgui_error_status": {"en": "Error (#{status})", "zh": "错误（#{status}）"},
    "yasgui_no_response": {"en": "Unable to get response from endpoint. Possible reasons:",
                           "zh": "无法从端点获得响应。可能的原因："},
    "yasgui_wrong_url": {"en": "Incorrect endpoint URL", "zh": "端点 URL 不正确"},
    "yasgui_endpoint_down": {"en": "Endpoint is down", "zh": "端点无法访问"},
    "yasgui_not_cors": {"en": "Endpoint is not accessible from the YASGUI server and website, "
                              "and the endpoint is not ",
                        "zh": "YASGUI 所在的服务器和网站无法访问该端点，且该端点未启用 "},
    "yasgui_cors": {"en": "CORS-enabled", "zh": "CORS"},
    "yasgui_try_query": {"en": "Try query in a new browser window",
                         "zh": "在新的浏览器窗口中尝试查询"},
}


def add_messages(table: Mapping[str, Mapping[str, str]]) -> None:
    """Add a module's page words to the shared table; each part of the site owns its words.

    Raises:
        ValueError: a key is already taken or an entry has no English text.
    """
    for key, entry in table.items():
        if key in MESSAGES and MESSAGES[key] != dict(entry):
            raise ValueError(f"page word {key!r} is defined twice")
        if DEFAULT_LANGUAGE not in entry:
            raise ValueError(f"page word {key!r} has no English text")
        MESSAGES[key] = dict(entry)


def in_language(entry: Mapping[str, str], lang: str) -> str:
    """One entry of a message table in ``lang``, English when it has no translation.

    Every bilingual table (pages, validation reports, the validation endpoint) reads through
    this, so the fallback rule lives in one place.

    >>> in_language({"en": "Error", "zh": "错误"}, "zh"), in_language({"en": "Error"}, "zh")
    ('错误', 'Error')
    """
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def translate(key: str, lang: str) -> str:
    """A page word in ``lang`` (English when the word has no translation)."""
    return in_language(MESSAGES[key], lang)
