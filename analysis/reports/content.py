"""What the report notebooks show: tables, narration, figures and the JSON artifact.

The three report notebooks stay thin: each cell calls one function here and
displays what it returns. For each report (``profile``, ``comparison``,
``quality``) there is

* ``build_<report>(ds, params)``: every table the report shows, computed
  once, in a small dataclass (:class:`Profile`, :class:`Comparison`,
  :class:`Quality`) that also keeps the checked params and ``facts``, the
  values the narration quotes;
* ``<report>_plots(report)``: named figures from :mod:`analysis.plots`
  (profile and comparison);
* ``<report>_section(report, name)``: what one section displays (narration,
  then a table or figures), as a list for ``display(*...)``;
* ``<report>_artifact(report, ...)``: the machine-readable summary (plain
  JSON types), which :func:`finish` writes atomically where ``output_json``
  says, and which the tests assert on.

Every number shown can be traced: a table of figures carries each figure's
``obs_id``, source, publisher, title, date and locator; a table of metrics
carries the ``obs_ids`` each estimate used and their sources.

Language: :func:`narrate` and :func:`say` render the narration in English or
Vietnamese from :data:`NARRATIVE`; :func:`show_table` labels columns from
:data:`COLUMNS` and writes numbers as readers of the language do; indicator,
metric, comparison, availability and reason labels come from the codebook,
:func:`analysis.stats.metrics.metric_definitions` and :mod:`analysis.plots`, so a
report follows ``lang`` throughout.

Examples:
    >>> narrate("artifact_skipped", "vi")
    'Không có tham số `output_json`, nên không ghi bản tóm tắt dạng máy đọc.'
    >>> period_text(pd.Series(pd.to_datetime(["2020-01-01", "2021-06-30"])),
    ...             pd.Series(pd.to_datetime(["2021-08-23", "2021-06-30"]))).tolist()
    ['2020-01-01 – 2021-08-23', '2021-06-30']
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.stats.comparison import AVAILABILITY, availability, compare_districts
from analysis.errors import UsageError
from analysis.stats.metrics import FAMILIES, compute_metrics, metric_definitions, severity_mix
from analysis.plots import (
    availability_plot, caterpillar_plot, funnel_plot, level_text, number_text, reason_text, severity_mix_plot,
)
from analysis.plots import text as plot_text
from analysis.reports.parameters import ComparisonParams, ProfileParams, QualityParams
from analysis.data.storage import json_bytes, replace_files

# --------------------------------------------------------------------------- words

#: Narrative paragraphs of the three reports, by key and language.
NARRATIVE = {
    # district profile
    "profile_title": {
        "en": "# Profile of {full_name}, {province} province",
        "vi": "# Hồ sơ: {full_name}, tỉnh {province}"},
    "profile_intro": {
        "en": "This report gathers every published figure on file about {district} and the communes and "
              "villages in it{period}: **{n_figures} figures from {n_sources} sources**. Each figure is listed "
              "with the document that printed it (publisher, title, date and where in the document), so that "
              "any number below can be traced back to its source.",
        "vi": "Báo cáo này tập hợp mọi số liệu đã công bố hiện có về {district} và các xã, thôn trong "
              "huyện{period}: **{n_figures} số liệu từ {n_sources} nguồn**. Mỗi số liệu đi kèm tài liệu đã đăng "
              "nó (cơ quan đăng, tiêu đề, ngày đăng và vị trí trong tài liệu), để mọi con số dưới đây đều truy "
              "được về nguồn."},
    "profile_former": {
        "en": "{district} is a former district: it existed until {valid_to}. The figures describe it as it was "
              "then.",
        "vi": "{district} là huyện cũ, tồn tại đến ngày {valid_to}. Các số liệu mô tả huyện khi còn tồn tại."},
    "profile_period": {"en": " for the period {start} to {end}", "vi": " trong thời kỳ từ {start} đến {end}"},
    "profile_nothing": {
        "en": "No published figure about {district} falls in this period, so the rest of the report is empty.",
        "vi": "Không có số liệu đã công bố nào về {district} trong thời kỳ này, nên các phần sau để trống."},
    "figures_heading": {"en": "## Every published figure", "vi": "## Toàn bộ số liệu đã công bố"},
    "figures_text": {
        "en": "One row per figure, with its value as printed, hedge included (\"more than 1,800\"). Figures about "
              "a commune or village carry its name in the *Unit* column. *Flags* name the quality checks that "
              "found something to keep in mind; they are explained at the end (that a unit no longer exists is "
              "said there, not on every row). The figure id and source id lead back to the raw tables.",
        "vi": "Mỗi dòng là một số liệu, với giá trị đúng như đã đăng, kể cả từ ước lượng (\"hơn 1.800\"). Số "
              "liệu về một xã hay thôn ghi tên xã, thôn đó ở cột *Đơn vị*. Cột *Cảnh báo* ghi tên các phép kiểm "
              "tra chất lượng phát hiện điều cần lưu ý, được giải thích ở cuối báo cáo (việc một đơn vị không "
              "còn tồn tại được nêu ở đó, không lặp lại ở từng dòng). Mã số liệu và mã nguồn dẫn về các bảng dữ "
              "liệu gốc."},
    "sources_heading": {"en": "## Sources", "vi": "## Nguồn"},
    "sources_text": {
        "en": "The documents the figures come from, with publisher, title and date, and how many figures each "
              "gave.",
        "vi": "Các tài liệu là nguồn của số liệu, với cơ quan đăng, tiêu đề, ngày đăng và số số liệu lấy từ "
              "mỗi tài liệu."},
    "metrics_heading": {"en": "## Metrics against the province", "vi": "## Các chỉ số so với toàn tỉnh"},
    "metrics_text": {
        "en": "A metric divides a published count by its base (villages, members, population, or members × "
              "years). {n_metrics} metrics can be computed from these figures, and {n_compared} of them compared "
              "with the other districts of {province}. Each estimate has a {inner} confidence interval (lower "
              "and upper bound): the range of values consistent with the published counts. The benchmark is "
              "the pooled value of the districts of {province} that publish the same metric (their counts "
              "added up). *Similar*: the benchmark lies inside the district's {inner} interval; *higher* or "
              "*lower*: outside it; *much higher* or *much lower*: outside the wider {outer} interval too. "
              "*Figures used* gives the ids of the figures (table above) each estimate is computed from; a metric "
              "that cannot be compared says why.",
        "vi": "Một chỉ số là một số đếm đã công bố chia cho cơ số của nó (số thôn, số đảng viên, dân số, hoặc "
              "số đảng viên × số năm). Từ các số liệu này tính được {n_metrics} chỉ số, trong đó {n_compared} "
              "chỉ số so sánh được với các huyện khác của tỉnh {province}. Mỗi ước lượng có khoảng tin cậy "
              "{inner} (cận dưới và cận trên): khoảng giá trị phù hợp với các số đếm đã công bố. Mốc so sánh là "
              "giá trị gộp của các huyện trong tỉnh {province} có cùng chỉ số (cộng dồn số đếm của các huyện). "
              "*Tương đương*: mốc nằm trong khoảng {inner} của huyện; *cao hơn* hay *thấp hơn*: mốc nằm ngoài "
              "khoảng đó; *cao hơn nhiều* hay *thấp hơn nhiều*: mốc nằm ngoài cả khoảng {outer} rộng hơn. Cột "
              "*Số liệu sử dụng* ghi mã các số liệu (bảng trên) dùng để tính mỗi ước lượng; chỉ số nào không so "
              "sánh được thì ghi rõ lý do."},
    "metrics_none": {
        "en": "No metric can be formed from the figures about {district}.",
        "vi": "Không lập được chỉ số nào từ các số liệu về {district}."},
    "plots_heading": {"en": "## Charts", "vi": "## Biểu đồ"},
    "plots_text": {
        "en": "{district} (in bold) among the districts of {province} that publish the same metrics. Dots are "
              "estimates, thick bars {inner} intervals, thin bars {outer} intervals; the dashed line is the "
              "benchmark, and black diamonds are the shrunken estimates (see the comparison reports).",
        "vi": "{district} (chữ đậm) giữa các huyện của tỉnh {province} có cùng chỉ số. Chấm tròn là ước lượng, "
              "vạch đậm là khoảng tin cậy {inner}, vạch mảnh là khoảng {outer}; đường nét đứt là mốc so sánh, "
              "hình thoi đen là ước lượng co (xem các báo cáo so sánh)."},
    "plots_none": {
        "en": "There is nothing to draw: no metric of {district} can be compared, and no breakdown of "
              "discipline by form was published.",
        "vi": "Không có gì để vẽ: không chỉ số nào của {district} so sánh được, và không có số liệu kỷ luật "
              "theo hình thức."},
    "flags_heading": {"en": "## Quality flags on these figures", "vi": "## Cảnh báo chất lượng của các số liệu"},
    "flags_text": {
        "en": "Checks that found something worth a second look in the figures above ({n_flags} flags). A flag "
              "never removes a figure; it says what to keep in mind. The checks raised here:",
        "vi": "Các phép kiểm tra phát hiện điểm cần xem lại trong số liệu trên ({n_flags} cảnh báo). Cảnh báo "
              "không loại bỏ số liệu nào; nó cho biết điều cần lưu ý. Các phép kiểm tra có cảnh báo ở đây:"},
    "flags_none": {"en": "No quality check raised a flag on these figures.",
                   "vi": "Không có cảnh báo chất lượng nào cho các số liệu này."},
    # comparison
    "comparison_title": {
        "en": "# Comparing the districts of {province}: {family}",
        "vi": "# So sánh các huyện của tỉnh {province}: {family}"},
    "comparison_intro": {
        "en": "{n_districts} districts of {province}, compared on {metrics} of {family}. **Benchmark**: "
              "{benchmark}. Each district's estimate has a {inner} confidence interval, the range of values "
              "consistent with its published counts. A district is *similar* when the benchmark lies inside "
              "that interval, *higher* or *lower* when outside it, *much higher* or *much lower* when outside "
              "the wider {outer} interval too. The labels only say in which direction a district differs; "
              "whether higher is better is for the reader to judge.",
        "vi": "{n_districts} huyện của tỉnh {province}, so sánh theo {metrics} về {family}. **Mốc so sánh**: "
              "{benchmark}. Ước lượng của mỗi huyện có khoảng tin cậy {inner}, tức khoảng giá trị phù hợp với "
              "các số đếm đã công bố. Một huyện *tương đương* khi mốc nằm trong khoảng đó, *cao hơn* hay *thấp "
              "hơn* khi nằm ngoài khoảng đó, *cao hơn nhiều* hay *thấp hơn nhiều* khi nằm ngoài cả khoảng {outer} "
              "rộng hơn. Nhãn chỉ cho biết huyện khác mốc theo chiều nào; cao hơn là tốt hay xấu do người đọc "
              "đánh giá."},
    "metric_count": {"en": "{n} metric", "vi": "{n} chỉ số"},
    "metrics_count": {"en": "{n} metrics", "vi": "{n} chỉ số"},
    "rates_text": {
        "en": "Rates are counted per *member-year*: one party member during one year. 1,000 members during half "
              "a year make 500 member-years, so districts with periods of different lengths can be compared.",
        "vi": "Tỷ lệ được tính trên *đảng viên-năm*: một đảng viên trong một năm. 1.000 đảng viên trong nửa "
              "năm là 500 đảng viên-năm, nhờ vậy so sánh được các huyện có thời kỳ dài ngắn khác nhau."},
    "benchmark_pooled": {
        "en": "the pooled value of the districts compared on each metric (their counts added up); a metric "
              "that only one district publishes then has nothing to be compared with",
        "vi": "giá trị gộp của các huyện được so sánh theo từng chỉ số (cộng dồn số đếm của các huyện); chỉ số "
              "chỉ có một huyện công bố thì không có gì để so sánh"},
    "benchmark_given": {"en": "{value}, given for every metric (in the metric's own unit)",
                        "vi": "{value}, áp dụng cho mọi chỉ số (theo đơn vị của từng chỉ số)"},
    "benchmark_anchor": {"en": "{value} {anchor}", "vi": "{value} {anchor}"},
    "benchmark_unsourced": {
        "en": "{value}, given for every metric (in the metric's own unit) by whoever ran the report; it is not "
              "one of the national anchors the project cites, and this report does not record where it comes "
              "from",
        "vi": "{value}, áp dụng cho mọi chỉ số (theo đơn vị của từng chỉ số), do người chạy báo cáo đưa vào; "
              "đây không phải mốc toàn quốc mà dự án trích dẫn, và báo cáo không ghi nguồn của giá trị này"},
    "availability_heading": {"en": "## What each district published", "vi": "## Số liệu mỗi huyện đã công bố"},
    "availability_text": {
        "en": "Every district of the comparison is listed, so gaps show. *Computed*: the metric could be "
              "formed. *Reported without denominator*: a figure was printed but its base (villages, members, "
              "period) is missing or too far in time. *Not reported*: nothing on file.",
        "vi": "Mọi huyện trong phép so sánh đều được liệt kê để thấy rõ chỗ thiếu. *Tính được*: lập được chỉ "
              "số. *Có số liệu, thiếu mẫu số*: có số liệu đã đăng nhưng thiếu cơ số (số thôn, số đảng viên, thời "
              "kỳ) hoặc cơ số quá xa về thời gian. *Không công bố*: không có số liệu."},
    "classification_heading": {"en": "## Classification against the benchmark",
                               "vi": "## Phân loại so với mốc so sánh"},
    "classification_text": {
        "en": "One row per district and metric with a published figure; {n_compared} of them could be compared. "
              "*Flags* name the quality checks raised on the figures used (explained under Caveats). The *figures "
              "used* and *sources* columns give the trail from each estimate to the documents (the source ids are "
              "those of the district profiles). The shrunken estimate (empirical Bayes) moves a "
              "district's value towards the benchmark, the more so the less certain it is: a small district "
              "moves most. It is shown beside the estimate as a second opinion, not instead of it.",
        "vi": "Mỗi dòng là một huyện và một chỉ số có số liệu đã công bố; {n_compared} dòng so sánh được. Cột "
              "*cảnh báo* ghi các phép kiểm tra chất lượng phát hiện điều cần lưu ý ở số liệu được dùng (giải "
              "thích ở phần Lưu ý). Cột *số liệu sử dụng* và *nguồn* cho biết mỗi ước lượng lấy từ tài liệu nào "
              "(mã nguồn như trong các báo cáo hồ sơ huyện). Ước lượng co (Bayes thực nghiệm) kéo giá trị của "
              "huyện về gần mốc so sánh, càng nhiều khi ước lượng càng kém chắc chắn: huyện nhỏ bị kéo nhiều "
              "nhất. Nó được đặt cạnh ước lượng gốc như một cách nhìn thứ hai, không thay thế ước lượng gốc."},
    "classification_none": {
        "en": "No district published any metric of {family}.",
        "vi": "Không huyện nào công bố chỉ số nào về {family}."},
    "caterpillar_heading": {"en": "## Caterpillar plots", "vi": "## Biểu đồ khoảng tin cậy"},
    "caterpillar_text": {
        "en": "Each district's estimate (dot) with its {inner} (thick) and {outer} (thin) intervals; black "
              "diamonds are the shrunken estimates, the dashed line the benchmark. Districts that published "
              "the metric but cannot be compared keep their row, with the reason in grey.",
        "vi": "Ước lượng của từng huyện (chấm tròn) với khoảng tin cậy {inner} (vạch đậm) và {outer} (vạch "
              "mảnh); hình thoi đen là ước lượng co, đường nét đứt là mốc so sánh. Huyện có số liệu nhưng không "
              "so sánh được vẫn có dòng riêng, lý do ghi màu xám."},
    "funnel_heading": {"en": "## Funnel plots", "vi": "## Đồ thị phễu"},
    "funnel_text": {
        "en": "Each metric against its precision: the denominator (villages, new members) or the member-years. "
              "The curved lines show how far from the benchmark a district of that size may fall by chance "
              "alone, at {inner} and {outer}; a district outside them differs from the benchmark by more than "
              "chance would explain. Drawn for metrics on which at least two districts can be compared.",
        "vi": "Mỗi chỉ số theo độ chính xác của nó: mẫu số (số thôn, số đảng viên mới) hoặc số đảng viên-năm. "
              "Các đường cong cho biết một huyện có quy mô như vậy có thể lệch khỏi mốc so sánh bao xa chỉ do "
              "ngẫu nhiên, ở mức {inner} và {outer}; huyện nằm ngoài các đường đó khác mốc nhiều hơn mức ngẫu "
              "nhiên có thể giải thích. Chỉ vẽ cho chỉ số có ít nhất hai huyện so sánh được."},
    "plots_nothing": {
        "en": "Nothing to draw: no district can be compared on any metric of {family} (the table above says "
              "why).",
        "vi": "Không có gì để vẽ: không huyện nào so sánh được theo chỉ số nào về {family} (bảng trên ghi rõ "
              "lý do)."},
    "funnel_nothing": {
        "en": "No funnel plot: no metric of {family} has two districts that can be compared.",
        "vi": "Không có đồ thị phễu: không chỉ số nào về {family} có hai huyện so sánh được."},
    "caveats_heading": {"en": "## Caveats", "vi": "## Lưu ý"},
    "caveats_none": {"en": "No particular caveat applies.", "vi": "Không có lưu ý đặc biệt."},
    # data quality
    "quality_title": {"en": "# Data quality review", "vi": "# Rà soát chất lượng dữ liệu"},
    "quality_intro": {
        "en": "{rows_in} rows were read from the raw tables in `{data_dir}`: **{used} are used and {rejected} "
              "rejected**. The quality checks raised **{n_flags} flags**, {n_warnings} of them warnings. A flag "
              "never removes a figure; a rejected row is not used at all until it is fixed.",
        "vi": "Đã đọc {rows_in} dòng từ các bảng dữ liệu gốc trong `{data_dir}`: **{used} dòng được dùng, "
              "{rejected} dòng bị loại**. Kiểm tra chất lượng đưa ra **{n_flags} cảnh báo**, trong đó "
              "{n_warnings} ở mức cần chú ý. Cảnh báo không loại bỏ số liệu; dòng bị loại thì không được dùng "
              "cho đến khi sửa."},
    "tables_heading": {"en": "## Rows by table", "vi": "## Số dòng theo bảng"},
    "rules_heading": {"en": "## Flags by check", "vi": "## Cảnh báo theo quy tắc kiểm tra"},
    "rules_text": {
        "en": "How many flags each check raised, with one example message.",
        "vi": "Số cảnh báo của từng quy tắc kiểm tra, kèm một ví dụ."},
    "by_source_heading": {"en": "## Flags by source", "vi": "## Cảnh báo theo nguồn"},
    "by_source_text": {
        "en": "A flag is counted once for each source whose figures it involves.",
        "vi": "Mỗi cảnh báo được đếm một lần cho mỗi nguồn có số liệu liên quan."},
    "by_district_heading": {"en": "## Flags by district", "vi": "## Cảnh báo theo huyện"},
    "by_district_text": {
        "en": "A flag is counted once for each district whose figures (or whose communes' and villages') it "
              "involves; province-level figures are under the province.",
        "vi": "Mỗi cảnh báo được đếm một lần cho mỗi huyện có số liệu liên quan (kể cả số liệu của xã, thôn "
              "trong huyện); số liệu cấp tỉnh xếp theo tỉnh."},
    "rejects_heading": {"en": "## Rejected rows", "vi": "## Các dòng bị loại"},
    "rejects_text": {
        "en": "{rejected} rows could not be used. Each is named by table and line, with the field and the "
              "reason: fix them in the raw table.",
        "vi": "{rejected} dòng không dùng được. Mỗi dòng ghi rõ bảng, số dòng, trường và lý do: hãy sửa trong "
              "bảng dữ liệu gốc."},
    "rejects_none": {"en": "No row was rejected.", "vi": "Không có dòng nào bị loại."},
    "all_flags_heading": {"en": "## Every flag", "vi": "## Toàn bộ cảnh báo"},
    # all
    "artifact_written": {
        "en": "A machine-readable summary of this report (JSON) is saved beside it as `{name}`.",
        "vi": "Bản tóm tắt dạng máy đọc (JSON) của báo cáo này được lưu cạnh báo cáo, tên tệp `{name}`."},
    "artifact_skipped": {
        "en": "No `output_json` was given, so no machine-readable summary was written.",
        "vi": "Không có tham số `output_json`, nên không ghi bản tóm tắt dạng máy đọc."},
}

#: Table column labels, by column name and language.
COLUMNS = {
    "unit_label": ("Unit", "Đơn vị"), "indicator_label": ("Indicator", "Chỉ tiêu"),
    "value": ("Value as printed", "Giá trị như đã đăng"),
    "date": ("Date or period", "Thời điểm, thời kỳ"), "approximate": ("Hedged", "Ước chừng"),
    "flags": ("Flags", "Cảnh báo"), "obs_id": ("Figure id", "Mã số liệu"), "source_id": ("Source id", "Mã nguồn"),
    "publisher": ("Publisher", "Cơ quan đăng"), "title": ("Title", "Tiêu đề"), "published": ("Published", "Ngày đăng"),
    "locator": ("Where in the document", "Vị trí trong tài liệu"), "url": ("Link", "Đường dẫn"),
    "n_figures": ("Figures", "Số số liệu"), "metric_label": ("Metric", "Chỉ số"), "period": ("Period", "Thời kỳ"),
    "estimate": ("Estimate", "Ước lượng"), "lower": ("Lower bound", "Cận dưới"), "upper": ("Upper bound", "Cận trên"),
    "benchmark": ("Benchmark", "Mốc so sánh"), "comparison_label": ("Comparison", "So sánh"),
    "reason": ("Why not compared", "Lý do không so sánh"), "obs_ids": ("Figures used", "Số liệu sử dụng"),
    "source_ids": ("Sources", "Nguồn"), "shrunk_estimate": ("Shrunken estimate", "Ước lượng co"),
    "rule": ("Check", "Quy tắc kiểm tra"), "severity": ("Severity", "Mức độ"), "message": ("Message", "Nội dung"),
    "count": ("Flags", "Số cảnh báo"), "example": ("Example", "Ví dụ"), "table": ("Table", "Bảng"),
    "line": ("Line", "Dòng"), "record_id": ("Record", "Bản ghi"), "field": ("Field", "Trường"),
    "rows_in": ("Rows read", "Số dòng đọc vào"), "used": ("Used", "Được dùng"), "rejected": ("Rejected", "Bị loại"),
    "indicator": ("Indicator id", "Mã chỉ tiêu"), "district": ("District", "Huyện"),
    "meaning": ("What it means", "Ý nghĩa"), "interval": ("Confidence interval", "Khoảng tin cậy"),
}

#: Hedge words of the ``qualifier`` column (empty for exact figures).
QUALIFIERS = {"exact": ("", ""), "more_than": ("more than", "hơn"), "nearly": ("nearly", "gần"),
              "about": ("about", "khoảng"), "at_least": ("at least", "ít nhất")}
SEVERITIES = {"info": ("info", "thông tin"), "warning": ("warning", "cần chú ý")}
#: What each quality check (``analysis.data.quality.RULES``) means, in plain words, by language.
RULE_MEANINGS = {
    "breakdown_exceeds_total": (
        "the parts of a breakdown (e.g. discipline by form) add up to more than the printed total",
        "các phần của một phân tổ (ví dụ kỷ luật theo hình thức) cộng lại lớn hơn tổng số đã đăng"),
    "percent_count_mismatch": (
        "a printed percentage does not match its printed count and base",
        "tỷ lệ phần trăm đã đăng không khớp với số đếm và cơ số đã đăng"),
    "conflicting_sources": (
        "two sources give different values for the same figure; one of them is preferred",
        "hai nguồn đưa ra giá trị khác nhau cho cùng một số liệu; một trong hai được ưu tiên"),
    "hedged_value": (
        "printed with a hedge: more than, nearly, about, at least",
        "được đăng kèm từ ước lượng: hơn, gần, khoảng, ít nhất"),
    "denominator_missing": (
        "a percentage whose base is not published, so no count or interval can be computed from it",
        "tỷ lệ phần trăm không có cơ số đã công bố, nên không tính được số đếm hay khoảng tin cậy"),
    "period_unknown": (
        "the date or period the figure describes is not known",
        "không rõ thời điểm hay thời kỳ mà số liệu mô tả"),
    "suspect_note": (
        "whoever entered the figure noted an inconsistency (see the message)",
        "người nhập liệu ghi nhận điểm không nhất quán (xem nội dung)"),
    "derived_value": (
        "computed from other figures, not printed as such",
        "được tính từ các số liệu khác, không phải số đã đăng"),
    "historical_unit": (
        "the unit no longer exists; its figures describe it as it was",
        "đơn vị không còn tồn tại; số liệu mô tả đơn vị khi còn tồn tại"),
}
FAMILY_LABELS = {"coverage": ("member coverage", "độ bao phủ của đảng viên"),
                 "admissions": ("admissions of new members", "kết nạp đảng viên mới"),
                 "discipline": ("discipline", "kỷ luật đảng viên")}

#: National figures the project cites as benchmarks, by metric: the value in display units and where it comes
#: from (the national plausibility anchors of the project's methods notes). A comparison whose benchmark equals
#: a metric's anchor cites it, and the report carries the ``national_benchmark`` caveat.
NATIONAL_ANCHORS = {
    "disciplined_per_1000_member_years": {
        "value": 4.0,
        "en": "per 1,000 member-years, the national anchor: about 20,000 party members were disciplined in 2021 "
              "and 24,160 in 2023, out of about 5.3 to 5.6 million members, so about 4 per 1,000 members a year "
              "(2021–2023). It gives the order of magnitude only",
        "vi": "trên 1.000 đảng viên-năm, là mốc toàn quốc: khoảng 20.000 đảng viên bị kỷ luật năm 2021 và 24.160 "
              "năm 2023, trên tổng số khoảng 5,3 đến 5,6 triệu đảng viên, tức khoảng 4 trên 1.000 đảng viên mỗi "
              "năm (2021–2023). Mốc này chỉ cho biết mức độ lớn"},
    "admissions_per_100_member_years": {
        "value": 2.75,
        "en": "per 100 member-years, the national anchor: about 2.75 new members per 100 members in 2019. It "
              "gives the order of magnitude only",
        "vi": "trên 100 đảng viên-năm, là mốc toàn quốc: khoảng 2,75 đảng viên mới trên 100 đảng viên năm 2019. "
              "Mốc này chỉ cho biết mức độ lớn"},
}

#: Caveats of a comparison: id -> (English, Vietnamese). ``{items}`` names each district concerned with the
#: metric and, where a quality check is the cause, the figures (ids) involved; ``{units}`` only the districts.
CAVEATS = {
    "national_benchmark": (
        "The benchmark is a national figure, for the order of magnitude only: it counts every party member of "
        "the country over whole years, while each district's rate uses its own members and its own period.",
        "Mốc so sánh là số liệu toàn quốc, chỉ để tham khảo mức độ lớn: nó tính trên toàn bộ đảng viên cả nước "
        "theo từng năm, còn tỷ lệ của mỗi huyện dựa trên số đảng viên và thời kỳ của riêng huyện đó."),
    "breakdown_exceeds_total": (
        "{items}: the published breakdown of discipline by form adds up to more than the published total of "
        "members disciplined. The rate uses the total; the breakdown is shown as printed.",
        "{items}: số đảng viên bị kỷ luật theo từng hình thức cộng lại lớn hơn tổng số đã công bố. Tỷ lệ dùng "
        "tổng số; các hình thức được giữ nguyên như đã đăng."),
    "conflicting_sources": (
        "{items}: two sources give different values for a figure used here; the preferred one is used (the "
        "data-quality review says which and why).",
        "{items}: hai nguồn đưa ra giá trị khác nhau cho một số liệu được dùng ở đây; số liệu được ưu tiên đã "
        "được dùng (báo cáo rà soát chất lượng ghi rõ số liệu nào và vì sao)."),
    "percent_count_mismatch": (
        "{items}: a printed percentage does not match its printed count and base, even allowing for rounding.",
        "{items}: một tỷ lệ phần trăm đã đăng không khớp với số đếm và cơ số đã đăng, kể cả khi tính đến làm "
        "tròn."),
    "suspect_note": (
        "{items}: whoever entered a figure used here marked it as suspect; its note in the raw table says why.",
        "{items}: người nhập liệu đã đánh dấu nghi vấn một số liệu được dùng ở đây; ghi chú của số liệu đó "
        "trong bảng dữ liệu gốc nêu lý do."),
    "approximate": (
        "{items}: a figure used here was printed with a hedge (\"more than\", \"nearly\", \"about\"), so the "
        "estimate is approximate (open markers in the charts).",
        "{items}: một số liệu được dùng ở đây được đăng kèm từ ước lượng (\"hơn\", \"gần\", \"khoảng\"), nên "
        "ước lượng chỉ gần đúng (điểm rỗng trên biểu đồ)."),
    "periods_differ": (
        "The estimates describe {n} different dates or periods, from {first} to {last}: part of a difference "
        "between districts may be a difference in time.",
        "Các ước lượng thuộc {n} thời điểm hoặc thời kỳ khác nhau, từ {first} đến {last}: một phần khác biệt "
        "giữa các huyện có thể là khác biệt về thời gian."),
    "exposure_from_one_stock": (
        "Rates divide by member-years: the member count published nearest the period, times the period's "
        "length, not an average over the period. {items}.",
        "Tỷ lệ chia cho số đảng viên-năm: số đảng viên được công bố gần thời kỳ nhất nhân với độ dài thời kỳ, "
        "không phải số bình quân trong thời kỳ. {items}."),
    "not_compared": (
        "Published but not compared: {items}.",
        "Có số liệu nhưng không so sánh được: {items}."),
    "historical_unit": (
        "{units}: no longer a district (Vietnam abolished the district level in 2025); the figures describe "
        "each as it was.",
        "{units}: nay không còn là huyện (cấp huyện đã bị bãi bỏ năm 2025); số liệu mô tả mỗi huyện khi còn tồn "
        "tại."),
}

#: Caveats raised by a quality check on a figure used, by rule id.
_FLAG_CAVEATS = ("breakdown_exceeds_total", "conflicting_sources", "percent_count_mismatch", "suspect_note",
                 "historical_unit")
#: How a caveat item names the figures (ids) involved.
_FIGURES_WORD = ("figures", "số liệu")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "vi" else pair[0]


class Narration(str):
    """Markdown made by :func:`narrate`, its values already escaped: quoted as it is by another narration."""


def narrate(key: str, lang: str, **values) -> Narration:
    """One narrative paragraph in English or Vietnamese, with values filled in.

    The values are data (a unit's full name, a source title ...): each is
    HTML-escaped before it goes into the Markdown, so markup in the data
    shows as text and never reaches the report as markup; the paragraph's own
    Markdown is kept. See :func:`markdown_value`.

    Args:
        key: A key of :data:`NARRATIVE`.
        lang: ``'en'`` or ``'vi'``.
        **values: The placeholders of the paragraph.

    Returns:
        Markdown text.

    Raises:
        UsageError: Unknown key or language.

    Examples:
        >>> narrate("flags_none", "en")
        'No quality check raised a flag on these figures.'
        >>> narrate("profile_title", "en", full_name="<b>Kon Rẫy</b>", province="Kon Tum")
        '# Profile of &lt;b&gt;Kon Rẫy&lt;/b&gt;, Kon Tum province'
    """
    if key not in NARRATIVE:
        raise UsageError(f"no narrative {key!r}", field="key")
    if lang not in ("en", "vi"):
        raise UsageError(f"lang must be 'en' or 'vi'; got {lang!r}", field="lang")
    template = NARRATIVE[key][lang]
    in_code = {name for name in values
               if template.count(f"`{{{name}}}`") == template.count(f"{{{name}}}") > 0}
    return Narration(template.format(**{name: markdown_value(value, name in in_code)
                                        for name, value in values.items()}))


#: Markdown punctuation that would turn a value into a link, an image, emphasis or code (escaped with a backslash).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]])")


def markdown_value(value, in_code_span: bool = False) -> str:
    """A value as narration quotes it: data text escaped, so that markup in the data shows as text.

    ``<``, ``>`` and ``&`` are HTML-escaped (nbconvert passes raw HTML in
    Markdown through to the report), and the Markdown punctuation of links,
    images, emphasis and code gets a backslash (nbconvert keeps
    ``javascript:`` links). A :class:`Narration` is already escaped and is
    kept as it is. Inside a code span (a placeholder between backticks)
    Markdown shows the text literally, entities included, so a value there is
    kept as it is, unless it holds a backtick, which would end the span.

    Args:
        value: Text, a number or a :class:`Narration`.
        in_code_span: Whether the placeholder is the whole of a code span.

    Returns:
        The text to put in the Markdown.

    Examples:
        >>> markdown_value("<script>alert(2)</script> & Co"), markdown_value(1639)
        ('&lt;script&gt;alert(2)&lt;/script&gt; &amp; Co', '1639')
        >>> print(markdown_value("[Kon Rẫy](javascript:alert(1)) *_x_*"))
        \\[Kon Rẫy\\](javascript:alert(1)) \\*\\_x\\_\\*
        >>> markdown_value("R&D/raw", in_code_span=True), markdown_value("a`<b>", in_code_span=True)
        ('R&D/raw', 'a\\\\`&lt;b&gt;')
    """
    text = str(value)
    if isinstance(value, Narration) or (in_code_span and "`" not in text):
        return text
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))


def say(*keys: str, lang: str, **values):
    """:func:`narrate` of one or more paragraphs, as Markdown for a notebook to display.

    Examples:
        >>> print(say("rejects_heading", "rejects_none", lang="en").data)
        ## Rejected rows
        <BLANKLINE>
        No row was rejected.
    """
    from IPython.display import Markdown

    return Markdown("\n\n".join(narrate(key, lang, **values) for key in keys))


def show_table(frame: pd.DataFrame, lang: str, columns=None):
    """A table for the reader: labelled columns in ``lang``, no index, numbers as readers write them.

    Every value is HTML-escaped (titles and notes come from the raw tables).
    Booleans show as a tick, ``severity`` in words of ``lang``, ``;``-joined
    lists with a space after each ``;`` (so they wrap), text left-aligned;
    columns of whole numbers show no decimals, other numbers two. The table
    is set a little smaller than the text; a date is never broken across
    lines (a period breaks only between its two dates), nor are intervals and
    ids; a check name longer than its column may break.

    Args:
        frame: A table built here (its column names are keys of :data:`COLUMNS`;
            other columns keep their names, with a break allowed after each underscore).
        lang: ``'en'`` or ``'vi'`` (Vietnamese writes ``8,95`` and ``1.639``).
        columns: The columns to show, in order (default all).

    Returns:
        A pandas ``Styler`` (renders as HTML in the notebook and report).

    Examples:
        >>> styled = show_table(pd.DataFrame({"estimate": [8.9512], "count": [1639]}), "vi")
        >>> list(styled.data.columns), "8,95" in styled.to_html(), "1.639" in styled.to_html()
        (['Ước lượng', 'Số cảnh báo'], True, True)
    """
    shown = frame if columns is None else frame[list(columns)]
    changed = {c: shown[c].map({True: "✓", False: ""}) for c in shown.columns
               if pd.api.types.is_bool_dtype(shown[c])}
    if "severity" in shown:
        changed["severity"] = shown["severity"].map({k: _pick(v, lang) for k, v in SEVERITIES.items()}).fillna(
            shown["severity"])
    for column in ("flags", "obs_ids", "source_ids"):
        if column in shown:
            changed[column] = shown[column].fillna("").astype(str).str.replace(";", "; ", regex=False)
    shown = shown.assign(**changed)
    numbers = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    whole = [c for c in numbers if (shown[c].dropna() % 1 == 0).all()]
    text = [c for c in shown.columns if c not in numbers]
    # other columns keep their names (rule ids in the quality crosstabs), which may break after an underscore
    labels = {c: _pick(COLUMNS[c], lang) if c in COLUMNS else str(c).replace("_", "_\u200b") for c in shown.columns}
    decimal, thousands = (",", ".") if lang == "vi" else (".", ",")
    styled = shown.rename(columns=labels).style.hide(axis="index").format_index(escape="html", axis=1)
    styled = styled.format(precision=2, decimal=decimal, thousands=thousands, na_rep="", escape="html")
    styled = styled.format(precision=0, thousands=thousands, na_rep="", escape="html",
                           subset=[labels[c] for c in whole])
    styled = styled.set_properties(subset=[labels[c] for c in text], **{"text-align": "left"})
    dates = [labels[c] for c in ("date", "period", "published") if c in shown]
    unbroken = [labels[c] for c in ("interval", "obs_id", "source_id") if c in shown]
    breakable = [labels[c] for c in ("flags", "rule", "indicator") if c in shown]
    return (styled.set_table_attributes('style="font-size: 0.85em"')
            .set_properties(subset=dates, **{"min-width": "7.6em"})
            .set_properties(subset=unbroken, **{"white-space": "nowrap"})
            .set_properties(subset=breakable, **{"overflow-wrap": "break-word"}))


def value_text(values: pd.Series, decimals: pd.Series, qualifier: pd.Series, value_unit: pd.Series,
               lang: str) -> pd.Series:
    """Published figures as printed: hedge, number with its printed decimals, percent sign.

    Args:
        values: The numbers.
        decimals: Decimals printed (``value_decimals`` of the observations).
        qualifier: ``exact``, ``more_than``, ``nearly``, ``about``, ``at_least``.
        value_unit: ``count`` or ``percent``.
        lang: ``'en'`` or ``'vi'``.

    Returns:
        Text per row (empty for a missing value).

    Examples:
        >>> value_text(pd.Series([1800.0, 75.51]), pd.Series([0, 2]), pd.Series(["more_than", "exact"]),
        ...            pd.Series(["count", "percent"]), "vi").tolist()
        ['hơn 1.800', '75,51%']
    """
    number = pd.Series("", index=values.index, dtype=object)
    places = decimals.fillna(0).astype(int).clip(0, 6)
    for digits in pd.unique(places):
        mine = (places == digits) & values.notna()
        number[mine] = values[mine].map(f"{{:,.{digits}f}}".format)
    if lang == "vi":
        number = number.str.translate(str.maketrans({",": ".", ".": ","}))
    hedge = qualifier.map({k: _pick(v, lang) for k, v in QUALIFIERS.items()}).fillna("")
    text = (hedge + " " + number).str.strip() + value_unit.map({"percent": "%"}).fillna("")
    return text.where(values.notna(), "")


def interval_text(lower: pd.Series, upper: pd.Series, lang: str) -> pd.Series:
    """Confidence intervals as ``lower–upper`` with two decimals, as readers of ``lang`` write numbers.

    Examples:
        >>> interval_text(pd.Series([5.1134, None]), pd.Series([1234.5, None]), "vi").tolist()
        ['5,11–1.234,50', '']
        >>> interval_text(pd.Series([], dtype=float), pd.Series([], dtype=float), "en").tolist()
        []
    """
    both = lower.notna() & upper.notna()
    def fixed(values: pd.Series) -> pd.Series:
        return pd.to_numeric(values[both]).map("{:,.2f}".format).astype(str)

    text = fixed(lower) + "–" + fixed(upper)
    if lang == "vi":
        text = text.str.translate(str.maketrans({",": ".", ".": ","}))
    return text.reindex(lower.index, fill_value="").astype(str)


def rule_meaning(rules: pd.Series, lang: str) -> pd.Series:
    """What each quality check means (:data:`RULE_MEANINGS`); an unknown rule id means itself.

    Examples:
        >>> rule_meaning(pd.Series(["hedged_value", "new_rule"]), "en").tolist()
        ['printed with a hedge: more than, nearly, about, at least', 'new_rule']
    """
    return rules.map({rule: _pick(pair, lang) for rule, pair in RULE_MEANINGS.items()}).fillna(rules).astype(str)


def show_figure(fig):
    """A figure as an inline PNG image (embedded in the notebook and its HTML).

    Works whatever matplotlib backend the kernel has (``agg`` draws nothing
    inline by itself). The image is cropped to what is drawn (``bbox_inches="tight"``),
    so a label or legend reaching past the figure's edge is kept, not cut.

    Args:
        fig: A matplotlib Figure.

    Returns:
        An ``IPython.display.Image``.
    """
    import io
    import warnings

    from IPython.display import Image

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a layout fallback is matplotlib's business, not the reader's
        warnings.filterwarnings("ignore", message="constrained_layout not applied", category=UserWarning)
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.15)
    return Image(data=buffer.getvalue(), format="png")


def figure_title(fig) -> str:
    """The figure's overall title, else its first panel's title.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> fig = Figure(); ax = fig.subplots(); _ = ax.set_title("Đồ thị phễu")
        >>> figure_title(fig)
        'Đồ thị phễu'
    """
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    return suptitle or (fig.axes[0].get_title() if fig.axes else "")


# --------------------------------------------------------------------------- shared pieces


def period_text(start: pd.Series, end: pd.Series) -> pd.Series:
    """``start – end`` per row; one date when both are equal; ``?`` for a missing end."""
    first = pd.to_datetime(start).dt.strftime("%Y-%m-%d")
    last = pd.to_datetime(end).dt.strftime("%Y-%m-%d")
    both = first.fillna("?") + " – " + last.fillna("?")
    text = both.where(first != last, first)
    return text.where(first.notna() | last.notna(), "")


def _reference(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Reference interval of observations: the period of a flow, [as_of, as_of] for a stock."""
    has_period = frame["period_start"].notna() | frame["period_end"].notna()
    start = frame["period_start"].where(has_period, frame["as_of"])
    end = frame["period_end"].where(has_period, frame["as_of"])
    return start.fillna(end), end.fillna(start)


def overlaps(start: pd.Series, end: pd.Series, period_start=None, period_end=None) -> pd.Series:
    """Rows whose interval [start, end] overlaps the period; undated rows only when no period is set.

    Examples:
        >>> s = pd.Series(pd.to_datetime(["2019-01-01", "2021-01-01", None]))
        >>> overlaps(s, s, "2020-01-01", None).tolist()
        [False, True, False]
        >>> overlaps(s, s).tolist()
        [True, True, True]
    """
    keep = pd.Series(True, index=start.index)
    if period_start is not None:
        keep &= pd.to_datetime(end) >= pd.Timestamp(period_start)
    if period_end is not None:
        keep &= pd.to_datetime(start) <= pd.Timestamp(period_end)
    return keep.fillna(False).astype(bool)


def sources_of(obs_ids: pd.Series, observations: pd.DataFrame) -> pd.Series:
    """The sources (``;``-joined, sorted) of ``;``-joined obs_id lists.

    Examples:
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2", "C1"], "source_id": ["S000", "S000", "C001"]})
        >>> sources_of(pd.Series(["O1;C1", "O2", None]), obs).tolist()
        ['C001;S000', 'S000', '']
    """
    items = obs_ids.fillna("").astype(str).str.split(";").explode()
    found = items.map(observations.drop_duplicates("obs_id").set_index("obs_id")["source_id"])
    found = found.dropna().astype(str)
    joined = found.groupby(level=0).agg(lambda s: ";".join(sorted(set(s))))
    return joined.reindex(obs_ids.index).fillna("").astype(str)


def _indicator_labels(codebook: pd.DataFrame, lang: str) -> pd.Series:
    return codebook.set_index("indicator")[f"label_{lang}"]


def _metric_rows(compared: pd.DataFrame, observations: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Display columns of compared metric rows (unit, metric, period, estimate, comparison, trail)."""
    classes = plot_text(lang)["classes"]
    reason = compared["comparison_reason"].where(compared["comparison"] == "not compared").fillna("").astype(str)
    return pd.DataFrame({
        "unit_code": compared["unit_code"], "unit_label": compared["unit_label"], "metric": compared["metric"],
        "metric_label": compared[f"label_{lang}"],
        "period": period_text(compared["period_start"], compared["period_end"]),
        "estimate": compared["estimate"], "lower": compared["lower"], "upper": compared["upper"],
        "computable": compared["computable"].fillna(False).astype(bool),
        "benchmark": compared["benchmark"].where(compared["comparison"] != "not compared"),
        "comparison": compared["comparison"],
        "comparison_label": compared["comparison"].map(classes).fillna(compared["comparison"]),
        "shrunk_estimate": compared["shrunk_estimate"],
        "interval": interval_text(compared["lower"], compared["upper"], lang),
        "reason": reason_text(reason, lang),
        "full_reason": reason,
        "approximate": compared["approximate"].fillna(False).astype(bool),
        "flags": row_flags(compared["flags"]),
        "obs_ids": compared["obs_ids"].fillna("").astype(str),
        "source_ids": sources_of(compared["obs_ids"], observations),
    })


#: Flags stated once per report rather than on every row: a former district's figures all carry it.
ONCE_PER_REPORT = ("historical_unit",)


def row_flags(flags: pd.Series) -> pd.Series:
    """The flags a table row shows: its ``;``-joined rule ids without :data:`ONCE_PER_REPORT`.

    The profile says once that the district is a former one, and the
    comparison lists the former districts among its caveats; the flags
    section of the profile and the data-quality review list every flag.

    Examples:
        >>> row_flags(pd.Series(["historical_unit", "hedged_value;historical_unit;suspect_note", None])).tolist()
        ['', 'hedged_value;suspect_note', '']
    """
    once = "|".join(ONCE_PER_REPORT)
    kept = flags.fillna("").astype(str).str.replace(rf"(?:^|;)(?:{once})(?=;|$)", "", regex=True)
    return kept.str.strip(";").astype(str)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain JSON values (NaN and NA become None)."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value):
    """One value as a JSON type."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Path):
        return str(value)
    return value


def write_artifact(artifact: dict, path) -> Path | None:
    """Write the report's JSON artifact atomically (temporary file, then rename).

    Args:
        artifact: Plain JSON types (the ``*_artifact`` functions give them).
        path: Destination, or None to write nothing.

    Returns:
        The path written, or None.

    Examples:
        >>> import json, tempfile
        >>> target = Path(tempfile.mkdtemp()) / "r.json"
        >>> write_artifact({"kind": "x", "value": float("nan")}, target) == target
        True
        >>> json.loads(target.read_text())
        {'kind': 'x', 'value': None}
    """
    if path is None:
        return None
    path = Path(path)
    replace_files({path.name: json_bytes(_plain(artifact))}, path.parent)
    return path


def finish(report, artifact: dict):
    """Write a report's artifact (when ``output_json`` is set) and name it.

    Only the file name is shown: the artifact sits beside the report, and the
    path it is written to may be the runner's staging folder, not where the
    report ends up.

    Args:
        report: A :class:`Profile`, :class:`Comparison` or :class:`Quality`.
        artifact: Its ``*_artifact`` summary.

    Returns:
        The closing Markdown line of the report.
    """
    path = write_artifact(artifact, report.params.output_json)
    lang = report.params.lang
    return say("artifact_skipped", lang=lang) if path is None else say("artifact_written", lang=lang, name=path.name)


# --------------------------------------------------------------------------- district profile

#: Columns of the profile's tables, in the order shown.
FIGURE_COLUMNS = ("unit_label", "indicator_label", "value", "date", "flags", "obs_id", "source_id", "publisher",
                  "title", "published", "locator")
SOURCE_COLUMNS = ("source_id", "publisher", "title", "published", "url", "n_figures")
PROFILE_METRIC_COLUMNS = ("metric_label", "period", "estimate", "interval", "benchmark", "comparison_label",
                          "reason", "approximate", "flags", "obs_ids", "source_ids")
PROFILE_FLAG_COLUMNS = ("rule", "severity", "indicator", "message", "obs_ids")


@dataclass
class Profile:
    """Everything the district profile shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.ProfileParams`.
        facts: Values quoted by the narration.
        figures: One row per published figure about the district (and its
            communes and villages) in the period, with its source.
        sources: The documents those figures come from.
        metrics: The district's metrics, compared with the province.
        compared: The comparison rows of every district that can be compared
            on a metric the district can be compared on (for the charts).
        severity: The district's discipline by form (``analysis.stats.metrics.severity_mix``).
        flags: Quality flags on the district's figures.
    """

    params: ProfileParams
    facts: dict
    figures: pd.DataFrame
    sources: pd.DataFrame
    metrics: pd.DataFrame
    compared: pd.DataFrame
    severity: pd.DataFrame
    flags: pd.DataFrame


def district_observations(observations: pd.DataFrame, unit_code: str, period_start=None,
                          period_end=None) -> pd.DataFrame:
    """The figures of a district and of the communes and villages in it, within a period.

    Args:
        observations: Processed observations.
        unit_code: The district's code.
        period_start, period_end: ISO dates or None; a figure is kept when its
            date or period overlaps; undated figures are kept only without a period.

    Returns:
        The matching observations, in their original order.

    Examples:
        >>> obs = pd.DataFrame({"district_code": ["614", "614", "615"], "unit_code": ["614", "23320", "615"],
        ...     "as_of": pd.to_datetime(["2021-08-23", "2019-01-01", "2021-01-01"]),
        ...     "period_start": pd.NaT, "period_end": pd.NaT})
        >>> district_observations(obs, "614")["unit_code"].tolist()
        ['614', '23320']
        >>> district_observations(obs, "614", period_start="2020-01-01")["unit_code"].tolist()
        ['614']
    """
    mine = observations[(observations["district_code"] == unit_code) | (observations["unit_code"] == unit_code)]
    start, end = _reference(mine)
    return mine[overlaps(start, end, period_start, period_end)]


def build_profile(ds, params) -> Profile:
    """Compute the district profile.

    Metrics are those of :func:`analysis.stats.metrics.compute_metrics` whose
    period overlaps the profile's period; the benchmark of each metric is
    the pooled value of the province's districts that can be compared on it
    (:func:`analysis.stats.comparison.compare_districts`).

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.ProfileParams`.

    Returns:
        The :class:`Profile`.
    """
    lang = params.lang
    obs = ds.observations
    mine = district_observations(obs, params.unit_code, params.period_start, params.period_end)
    sources = ds.sources.set_index("source_id")
    figures = pd.DataFrame({
        "unit_label": mine["unit_label"], "indicator": mine["indicator"],
        "indicator_label": mine["indicator"].map(_indicator_labels(ds.codebook, lang)),
        "value": value_text(mine["value"], mine["value_decimals"], mine["qualifier"], mine["value_unit"], lang),
        "date": period_text(*_reference(mine)), "approximate": mine["approximate"],
        "flags": row_flags(mine["flags"]), "obs_id": mine["obs_id"], "source_id": mine["source_id"],
        "publisher": mine["source_id"].map(sources["publisher"]), "title": mine["source_id"].map(sources["title"]),
        "published": mine["source_id"].map(sources["published"]), "locator": mine["locator"],
    }).reset_index(drop=True)
    used = mine["source_id"].value_counts()
    source_table = (ds.sources[ds.sources["source_id"].isin(used.index)]
                    .assign(n_figures=lambda s: s["source_id"].map(used).astype(int))
                    [list(SOURCE_COLUMNS)].reset_index(drop=True))

    metrics = compute_metrics(obs[obs["province_code"] == params.province_code])
    metrics = metrics[overlaps(metrics["period_start"], metrics["period_end"], params.period_start,
                               params.period_end)]
    compared = pd.concat([compare_districts(ds, province=params.province_code, family=family, metrics=metrics)
                          for family in FAMILIES], ignore_index=True)
    own = compared[(compared["unit_code"] == params.unit_code) & (compared["reason"].fillna("") != "not reported")]
    comparable = own.loc[own["comparison"] != "not compared", "metric"]
    charted = compared[compared["metric"].isin(comparable) & (compared["comparison"] != "not compared")]

    items = flag_items(ds.flags, obs)
    touched = sorted(items.loc[items["obs_id"].isin(mine["obs_id"]), "flag"].unique())
    flags = ds.flags.reset_index(drop=True).loc[touched, list(PROFILE_FLAG_COLUMNS)].reset_index(drop=True)
    unit = ds.units.set_index("unit_code")
    facts = {"district": params.district, "province": params.province,
             "full_name": unit["full_name"].get(params.unit_code, params.district),
             "valid_to": unit["valid_to"].fillna("").astype(str).get(params.unit_code, ""),
             "n_figures": len(figures), "n_sources": len(source_table), "n_metrics": len(own),
             "n_compared": int(comparable.size), "n_flags": len(flags),
             "inner": level_text(0.95, lang), "outer": level_text(0.998, lang),
             "period": (narrate("profile_period", lang, start=params.period_start or "…",
                                end=params.period_end or "…")
                        if params.period_start or params.period_end else "")}
    return Profile(params=params, facts=facts, figures=figures, sources=source_table,
                   metrics=_metric_rows(own, obs, lang).reset_index(drop=True),
                   compared=charted.reset_index(drop=True), severity=severity_mix(mine), flags=flags)


def profile_plots(profile: Profile) -> dict:
    """The profile's charts: a caterpillar plot per family the district can be compared on (the
    district's name in bold), and its discipline by form when published.

    Args:
        profile: From :func:`build_profile`.

    Returns:
        Figure name (``caterpillar_<family>``, ``severity_mix``) → Figure.
    """
    lang = profile.params.lang
    plots = {}
    for family in pd.unique(profile.compared["family"]):
        plots[f"caterpillar_{family}"] = caterpillar_plot(
            profile.compared[profile.compared["family"] == family], lang=lang, highlight=profile.params.unit_code)
    if profile.severity["count"].notna().any():
        mix = profile.severity.assign(period=period_text(profile.severity["period_start"],
                                                         profile.severity["period_end"]))
        plots["severity_mix"] = severity_mix_plot(mix, lang=lang)
    return plots


def profile_section(profile: Profile, section: str, plots: dict | None = None) -> list:
    """What one section of the profile displays: narration, then a table or figures.

    Args:
        profile: From :func:`build_profile`.
        section: ``intro``, ``figures``, ``sources``, ``metrics``, ``charts``
            (needs ``plots``) or ``flags``.
        plots: From :func:`profile_plots`, for ``charts``.

    Returns:
        Objects for ``display(*...)``.

    Raises:
        UsageError: An unknown section.
    """
    lang, facts = profile.params.lang, profile.facts
    empty = facts["n_figures"] == 0
    if section == "intro":
        return [say("profile_title", "profile_nothing" if empty else "profile_intro",
                    *(["profile_former"] if facts["valid_to"] else []), lang=lang, **facts)]
    if section == "figures":
        return [] if empty else [say("figures_heading", "figures_text", lang=lang, **facts),
                                 show_table(profile.figures, lang, FIGURE_COLUMNS)]
    if section == "sources":
        return [] if empty else [say("sources_heading", "sources_text", lang=lang, **facts),
                                 show_table(profile.sources, lang, SOURCE_COLUMNS)]
    if section == "metrics":
        if profile.metrics.empty:
            return [say("metrics_heading", "metrics_none", lang=lang, **facts)]
        return [say("metrics_heading", "metrics_text", lang=lang, **facts),
                show_table(profile.metrics, lang, PROFILE_METRIC_COLUMNS)]
    if section == "charts":
        if not plots:
            return [say("plots_heading", "plots_none", lang=lang, **facts)]
        return [say("plots_heading", "plots_text", lang=lang, **facts)] + [show_figure(f) for f in plots.values()]
    if section == "flags":
        if profile.flags.empty:
            return [say("flags_heading", "flags_none", lang=lang, **facts)]
        from IPython.display import Markdown

        rules = pd.Series(pd.unique(profile.flags["rule"].astype(str)))
        meanings = "\n".join("- `" + rules + "`: " + rule_meaning(rules, lang))
        return [say("flags_heading", "flags_text", lang=lang, **facts), Markdown(meanings),
                show_table(profile.flags, lang, PROFILE_FLAG_COLUMNS)]
    raise UsageError(f"unknown profile section {section!r}", field="section")


def profile_artifact(profile: Profile, plots: dict) -> dict:
    """The profile's machine-readable summary.

    Returns:
        ``kind``, ``district``, ``unit_code``, ``province_code``, ``lang``,
        ``period_start``, ``period_end``, ``n_observations``, ``obs_ids``,
        ``sources`` (ids), ``metrics`` (one dict per metric the district
        reports: ``metric``, ``label``, ``period``, ``estimate``, ``lower``,
        ``upper``, ``computable``, ``reason``, ``comparison``, ``benchmark``,
        ``obs_ids``, ``source_ids``), ``flags`` (rules), ``figures`` (names)
        and ``figure_titles`` (name → title, in ``lang``).
    """
    p, m = profile.params, profile.metrics
    metrics = m[["metric", "metric_label", "period", "estimate", "lower", "upper", "computable", "full_reason",
                 "comparison", "comparison_label", "benchmark", "obs_ids", "source_ids"]].rename(
        columns={"metric_label": "label", "full_reason": "reason"})
    return {
        "kind": "district_profile", "district": p.district, "unit_code": p.unit_code,
        "province_code": p.province_code, "lang": p.lang, "period_start": p.period_start,
        "period_end": p.period_end, "n_observations": len(profile.figures),
        "obs_ids": profile.figures["obs_id"].tolist(), "sources": profile.sources["source_id"].tolist(),
        "metrics": _records(metrics), "flags": sorted(profile.flags["rule"].unique().tolist()),
        "figures": list(plots), "figure_titles": {name: figure_title(fig) for name, fig in plots.items()},
    }


# --------------------------------------------------------------------------- district comparison

#: Columns of the comparison's table, in the order shown (hedged figures are named under Caveats).
COMPARISON_COLUMNS = ("unit_label", "metric_label", "period", "estimate", "interval", "benchmark",
                      "comparison_label", "shrunk_estimate", "reason", "flags", "obs_ids", "source_ids")


@dataclass
class Comparison:
    """Everything the district comparison shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.ComparisonParams`.
        facts: Values quoted by the narration.
        availability: District × metric matrix of :func:`analysis.stats.comparison.availability`,
            every compared district included.
        compared: The output of :func:`analysis.stats.comparison.compare_districts`.
        table: Display rows of every reported district × metric, with their trail.
        caveats: ``{"id", "units", "text"}`` for each caveat that applies.
    """

    params: ComparisonParams
    facts: dict
    availability: pd.DataFrame
    compared: pd.DataFrame
    table: pd.DataFrame
    caveats: list = field(default_factory=list)


def benchmark_text(benchmark, metrics, lang: str) -> tuple[str, str | None]:
    """How a comparison's benchmark is described, and the national anchor it matches, if any.

    Args:
        benchmark: ``'pooled'`` or a number in display units.
        metrics: The metric ids compared.
        lang: ``'en'`` or ``'vi'``.

    Returns:
        The wording for the narration, and the metric id of the
        :data:`NATIONAL_ANCHORS` entry the number equals (None when pooled or
        when it matches no anchor).

    Examples:
        >>> benchmark_text(4.0, ["disciplined_per_1000_member_years"], "en")[0][:50]
        '4 per 1,000 member-years, the national anchor: abo'
        >>> benchmark_text(5.0, ["disciplined_per_1000_member_years"], "en")[1] is None
        True
    """
    if benchmark == "pooled":
        return narrate("benchmark_pooled", lang), None
    value = number_text(benchmark, lang)
    anchor = next((m for m in metrics if m in NATIONAL_ANCHORS and NATIONAL_ANCHORS[m]["value"] == benchmark), None)
    if anchor is None:
        return narrate("benchmark_unsourced", lang, value=value), None
    return narrate("benchmark_anchor", lang, value=value, anchor=NATIONAL_ANCHORS[anchor][lang]), anchor


def build_comparison(ds, params) -> Comparison:
    """Compute the district comparison.

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.ComparisonParams`.

    Returns:
        The :class:`Comparison`.
    """
    lang = params.lang
    obs = ds.observations[ds.observations["province_code"] == params.province_code]
    codes = list(params.unit_codes)
    metrics = compute_metrics(obs[obs["district_code"].isin(codes)], families=[params.family],
                              conf_level=params.levels[0])
    compared = compare_districts(ds, province=params.province_code, districts=codes, family=params.family,
                                 benchmark=params.benchmark, levels=params.levels, conf_level=params.levels[0],
                                 metrics=metrics)
    definitions = metric_definitions()
    names = definitions.loc[definitions["family"] == params.family, "metric"].tolist()
    roster = compared[["unit_code", "unit_label"]].drop_duplicates("unit_code")
    matrix = availability(obs, metrics, metric_names=names).reset_index(level="unit_label", drop=True)
    matrix = matrix.reindex(roster["unit_code"], fill_value=AVAILABILITY[2])
    matrix.index = pd.MultiIndex.from_frame(roster)
    reported = compared[compared["reason"].fillna("") != "not reported"]
    benchmark, anchor = benchmark_text(params.benchmark, names, lang)
    facts = {"province": params.province, "family": _pick(FAMILY_LABELS[params.family], lang),
             "n_districts": len(roster), "n_metrics": len(names),
             "metrics": narrate("metric_count" if len(names) == 1 else "metrics_count", lang, n=len(names)),
             "n_compared": int((reported["comparison"] != "not compared").sum()),
             "benchmark": benchmark, "anchor": anchor,
             "rates": bool((definitions.loc[definitions["family"] == params.family, "kind"] == "rate").any()),
             "inner": level_text(params.levels[0], lang), "outer": level_text(params.levels[1], lang)}
    return Comparison(params=params, facts=facts, availability=matrix, compared=compared,
                      table=_metric_rows(reported, ds.observations, lang).reset_index(drop=True),
                      caveats=comparison_caveats(reported, lang, ds.flags))


def _flagged_figures(rows: pd.DataFrame, flags: pd.DataFrame, rule: str) -> pd.Series:
    """Per row, the figures (``, ``-joined ids) of every flag of ``rule`` that touches a figure the row uses.

    Examples:
        >>> rows = pd.DataFrame({"obs_ids": ["O22;O11", "O5"]})
        >>> flags = pd.DataFrame({"rule": ["breakdown_exceeds_total", "hedged_value"],
        ...                       "obs_ids": ["O22;O23;O24", "O5"]})
        >>> _flagged_figures(rows, flags, "breakdown_exceeds_total").tolist()
        ['O22, O23, O24', '']
    """
    def split(ids: pd.Series) -> pd.Series:
        return ids.fillna("").astype(str).str.split(";").explode()

    chosen = flags[flags["rule"] == rule].reset_index(drop=True)
    of_flag = split(chosen["obs_ids"]).rename("obs_id").rename_axis("flag").reset_index()
    of_row = split(rows["obs_ids"]).rename("obs_id").rename_axis("row").reset_index()
    touched = of_row.merge(of_flag, on="obs_id")[["row", "flag"]].drop_duplicates()
    figures = touched.merge(of_flag, on="flag").groupby("row")["obs_id"].agg(lambda s: ", ".join(sorted(set(s))))
    return figures.reindex(rows.index, fill_value="").astype(str)


def comparison_caveats(reported: pd.DataFrame, lang: str, flags: pd.DataFrame | None = None) -> list[dict]:
    """The caveats that apply to the reported rows of a comparison, each naming what it is about.

    Each caveat names the districts concerned with the metric and, when a
    quality check is the cause and ``flags`` is given, the figures (ids)
    involved: "Kon Rẫy (Members disciplined per 1,000 member-years; figures
    O0022, O0023)".

    Args:
        reported: Rows of :func:`analysis.stats.comparison.compare_districts` for
            districts that reported the metric.
        lang: ``'en'`` or ``'vi'``.
        flags: The dataset's quality flags (``rule``, ``obs_ids``), to name
            the figures behind a caveat.

    Returns:
        One ``{"id", "units", "text"}`` per caveat that applies, in the order
        of :data:`CAVEATS`.

    Examples:
        >>> rows = pd.DataFrame({"unit_label": ["Kon Rẫy", "Đắk Hà"], "metric": "d", "label_en": "Rate d",
        ...     "label_vi": "Tỷ lệ d", "kind": "rate", "comparison": ["similar", "not compared"],
        ...     "comparison_reason": [None, "period unknown"], "approximate": [False, True],
        ...     "flags": ["breakdown_exceeds_total", ""], "obs_ids": ["O2;O1", "O7"], "denominator": [1639, None],
        ...     "exposure": [2698.6, None], "period_start": pd.to_datetime(["2020-01-01", None]),
        ...     "period_end": pd.to_datetime(["2021-08-23", None])})
        >>> flags = pd.DataFrame({"rule": ["breakdown_exceeds_total"], "obs_ids": ["O2;O3;O4"]})
        >>> caveats = comparison_caveats(rows, "en", flags)
        >>> [c["id"] for c in caveats]
        ['breakdown_exceeds_total', 'approximate', 'exposure_from_one_stock', 'not_compared']
        >>> caveats[0]["text"].split(":")[0], caveats[-1]["text"]
        ('Kon Rẫy (Rate d; figures O2, O3, O4)', 'Published but not compared: period unknown: Đắk Hà (Rate d).')
        >>> caveats[2]["text"].split(". ")[-1]
        'Kon Rẫy: 1,639 members × 1.65 years = 2,699 member-years.'

        >>> comparison_caveats(rows, "vi", flags)[-1]["text"]
        'Có số liệu nhưng không so sánh được: không rõ thời kỳ: Đắk Hà (Tỷ lệ d).'
    """
    rule_of = reported["flags"].fillna("").astype(str)
    compared = (reported["comparison"] != "not compared").to_numpy()
    unit = reported["unit_label"].astype(str)
    label = reported[f"label_{lang}"].astype(str) if f"label_{lang}" in reported else reported["metric"].astype(str)
    chosen = {rule: rule_of.str.contains(rf"(?:^|;){rule}(?:;|$)", regex=True).to_numpy() for rule in _FLAG_CAVEATS}
    chosen["approximate"] = reported["approximate"].fillna(False).astype(bool).to_numpy()
    anchors = reported["metric"].map({m: a["value"] for m, a in NATIONAL_ANCHORS.items()})
    given = reported["benchmark_source"] == "given" if "benchmark_source" in reported else False
    national = compared & (given & (reported.get("benchmark") == anchors)).to_numpy(bool)
    periods = period_text(reported["period_start"], reported["period_end"])[compared]
    ends = pd.to_datetime(pd.concat([reported["period_start"], reported["period_end"]])[np.tile(compared, 2)])
    rates = compared & (reported["kind"] == "rate").to_numpy()
    caveats = []
    for key, pair in CAVEATS.items():
        template = _pick(pair, lang)
        if key in chosen and chosen[key].any():
            mine = chosen[key]
            figures = _flagged_figures(reported[mine], flags, key) if flags is not None and key in _FLAG_CAVEATS \
                else pd.Series("", index=reported.index[mine])
            named = label[mine] + np.where(figures != "", f"; {_pick(_FIGURES_WORD, lang)} " + figures, "")
            items = list(pd.unique(unit[mine] + " (" + named + ")"))
            names = sorted(pd.unique(unit[mine]))
            caveats.append({"id": key, "units": names,
                            "text": template.format(units=", ".join(names), items="; ".join(items))})
        elif key == "national_benchmark" and national.any():
            caveats.append({"id": key, "units": [], "text": template})
        elif key == "periods_differ" and periods.nunique() > 1:
            caveats.append({"id": key, "units": [], "text": template.format(
                n=periods.nunique(), first=ends.min().strftime("%Y-%m-%d"), last=ends.max().strftime("%Y-%m-%d"))})
        elif key == "exposure_from_one_stock" and rates.any():
            rows = reported[rates]
            members = pd.to_numeric(rows["denominator"])
            years = pd.to_numeric(rows["exposure"]) / members
            words = ("members", "years", "member-years") if lang == "en" else ("đảng viên", "năm", "đảng viên-năm")
            items = (unit[rates] + ": " + members.map(lambda v: number_text(v, lang, 0)) + f" {words[0]} × "
                     + years.map(lambda v: number_text(v, lang, 2)) + f" {words[1]} = "
                     + pd.to_numeric(rows["exposure"]).map(lambda v: number_text(v, lang, 0)) + f" {words[2]}")
            caveats.append({"id": key, "units": sorted(pd.unique(unit[rates])), "text": template.format(
                items="; ".join(items))})
        elif key == "not_compared" and (~compared).any():
            why = reason_text(reported.loc[~compared, "comparison_reason"], lang)
            named = unit[~compared] + " (" + label[~compared] + ")"
            groups = named.groupby(why, sort=False).agg(", ".join)
            caveats.append({"id": key, "units": sorted(pd.unique(unit[~compared])), "text": template.format(
                items="; ".join(reason + ": " + listing for reason, listing in groups.items()))})
    return caveats


def comparison_plots(comparison: Comparison) -> dict:
    """The comparison's charts: availability, and per comparable metric a caterpillar and a funnel plot.

    A funnel plot is drawn for metrics that at least two districts can be
    compared on.

    Args:
        comparison: From :func:`build_comparison`.

    Returns:
        Figure name (``availability``, ``caterpillar_<metric>``,
        ``funnel_<metric>``) → Figure.
    """
    params = comparison.params
    plots = {"availability": availability_plot(comparison.availability, lang=params.lang)}
    compared = comparison.compared
    reported = compared[compared["reason"].fillna("") != "not reported"]
    counts = reported[reported["comparison"] != "not compared"].groupby("metric", sort=False).size()
    benchmark = None if params.benchmark == "pooled" else params.benchmark
    for metric, n in counts.items():
        plots[f"caterpillar_{metric}"] = caterpillar_plot(reported, metric=metric, lang=params.lang)
        if n >= 2:
            plots[f"funnel_{metric}"] = funnel_plot(reported, metric, benchmark=benchmark, levels=params.levels,
                                                    lang=params.lang)
    return plots


def comparison_section(comparison: Comparison, section: str, plots: dict | None = None) -> list:
    """What one section of the comparison displays: narration, then a table or figures.

    Args:
        comparison: From :func:`build_comparison`.
        section: ``intro``, ``availability``, ``classification``,
            ``caterpillar``, ``funnel`` (these three need ``plots``) or ``caveats``.
        plots: From :func:`comparison_plots`.

    Returns:
        Objects for ``display(*...)``.

    Raises:
        UsageError: An unknown section.
    """
    lang, facts, plots = comparison.params.lang, comparison.facts, plots or {}
    if section == "intro":
        return [say("comparison_title", "comparison_intro", *(["rates_text"] if facts["rates"] else []), lang=lang,
                    **facts)]
    if section == "availability":
        return [say("availability_heading", "availability_text", lang=lang, **facts)] + \
            [show_figure(plots[name]) for name in ("availability",) if name in plots]
    if section == "classification":
        if comparison.table.empty:
            return [say("classification_heading", "classification_none", lang=lang, **facts)]
        return [say("classification_heading", "classification_text", lang=lang, **facts),
                show_table(comparison.table, lang, COMPARISON_COLUMNS)]
    if section in ("caterpillar", "funnel"):
        chosen = [fig for name, fig in plots.items() if name.startswith(section + "_")]
        compared_any = any(name.startswith("caterpillar_") for name in plots)
        text = f"{section}_text" if chosen else "funnel_nothing" if compared_any else "plots_nothing"
        return [say(f"{section}_heading", text, lang=lang, **facts)] + [show_figure(f) for f in chosen]
    if section == "caveats":
        if not comparison.caveats:
            return [say("caveats_heading", "caveats_none", lang=lang)]
        from IPython.display import Markdown

        # caveat templates hold no markup: the whole text is escaped (the artifact keeps it as is)
        items = "\n".join(f"- {markdown_value(c['text'])}" for c in comparison.caveats)
        return [say("caveats_heading", lang=lang), Markdown(items)]
    raise UsageError(f"unknown comparison section {section!r}", field="section")


def comparison_artifact(comparison: Comparison, plots: dict) -> dict:
    """The comparison's machine-readable summary.

    Returns:
        ``kind``, ``province_code``, ``family``, ``benchmark``,
        ``benchmark_note`` (where a given benchmark comes from, in ``lang``;
        None when pooled), ``national_anchor`` (the metric of
        :data:`NATIONAL_ANCHORS` the benchmark equals, or None), ``levels``,
        ``lang``, ``unit_codes``, ``rows`` (every reported district × metric:
        ``unit_code``, ``unit_label``, ``metric``, ``label``, ``period``,
        ``estimate``, ``lower``, ``upper``, ``benchmark``, ``comparison`` (in
        ``lang``), ``reason``, ``shrunk_estimate``, ``obs_ids``,
        ``source_ids``), ``not_compared`` (``unit_code``, ``unit_label``,
        ``metric``, ``reason``; districts that reported nothing have reason
        ``not reported``), ``availability`` (unit_code → metric → status),
        ``caveats``, ``figures`` and ``figure_titles``.
    """
    p, c = comparison.params, comparison.compared
    rows = comparison.table[["unit_code", "unit_label", "metric", "metric_label", "period", "estimate", "lower",
                             "upper", "benchmark", "comparison", "comparison_label", "full_reason",
                             "shrunk_estimate", "obs_ids",
                             "source_ids"]].rename(columns={"metric_label": "label", "full_reason": "reason"})
    hidden = c.loc[c["comparison"] == "not compared", ["unit_code", "unit_label", "metric", "comparison_reason"]]
    return {
        "kind": "district_comparison", "province_code": p.province_code, "family": p.family,
        "benchmark": p.benchmark, "benchmark_note": None if p.benchmark == "pooled" else comparison.facts["benchmark"],
        "national_anchor": comparison.facts["anchor"], "levels": list(p.levels), "lang": p.lang,
        "unit_codes": list(p.unit_codes),
        "rows": _records(rows),
        "not_compared": _records(hidden.rename(columns={"comparison_reason": "reason"}).fillna({"reason": ""})),
        "availability": comparison.availability.reset_index(level="unit_label", drop=True).to_dict(orient="index"),
        "caveats": comparison.caveats,
        "figures": list(plots), "figure_titles": {name: figure_title(fig) for name, fig in plots.items()},
    }


# --------------------------------------------------------------------------- data quality

QUALITY_FLAG_COLUMNS = ("rule", "severity", "unit_label", "indicator", "message", "obs_ids", "source_ids")


@dataclass
class Quality:
    """Everything the data-quality review shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.QualityParams`.
        facts: Values quoted by the narration.
        tables: Rows read, used and rejected per raw table.
        rules: Flags per check, with severity and an example message.
        by_source: Flag counts, source × check.
        by_district: Flag counts, district (or province) × check.
        flags: Every flag with the sources of its figures.
        rejects: Every rejected row.
    """

    params: QualityParams
    facts: dict
    tables: pd.DataFrame
    rules: pd.DataFrame
    by_source: pd.DataFrame
    by_district: pd.DataFrame
    flags: pd.DataFrame
    rejects: pd.DataFrame


def flag_items(flags: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """One row per flag × figure involved, with the figure's source and district.

    Args:
        flags: Quality flags (``obs_ids`` ``;``-joined).
        observations: Processed observations.

    Returns:
        ``flag`` (the flag's row number), ``rule``, ``obs_id``, ``source_id``
        and ``place`` (the district's code, or the unit's own code above
        district level).

    Examples:
        >>> flags = pd.DataFrame({"rule": ["hedged_value"], "obs_ids": ["O1;O2"]})
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2"], "source_id": ["S1", "S2"],
        ...     "district_code": ["614", None], "unit_code": ["614", "62"]})
        >>> flag_items(flags, obs)[["obs_id", "source_id", "place"]].values.tolist()
        [['O1', 'S1', '614'], ['O2', 'S2', '62']]
    """
    items = (flags.reset_index(drop=True).rename_axis("flag").reset_index()
             .assign(obs_id=lambda f: f["obs_ids"].fillna("").astype(str).str.split(";"))
             .explode("obs_id")[["flag", "rule", "obs_id"]])
    where = observations[["obs_id", "source_id", "district_code", "unit_code"]].drop_duplicates("obs_id")
    items = items.merge(where, on="obs_id", how="left")
    items["place"] = items["district_code"].fillna(items["unit_code"])
    return items[["flag", "rule", "obs_id", "source_id", "place"]]


def _crosstab(items: pd.DataFrame, by: str) -> pd.DataFrame:
    """Flags counted once per value of ``by`` they involve: ``by`` × rule."""
    once = items.dropna(subset=[by]).drop_duplicates(["flag", by])
    table = pd.crosstab(once[by], once["rule"]) if len(once) else pd.DataFrame(index=pd.Index([], name=by))
    table.columns.name = None
    return table.astype(int)


def build_quality(ds, params) -> Quality:
    """Compute the data-quality review.

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.QualityParams`.

    Returns:
        The :class:`Quality`.
    """
    summary = ds.summary()
    tables = pd.DataFrame([{"table": t, "rows_in": c["in"], "used": c["used"], "rejected": c["rejected"]}
                           for t, c in summary["tables"].items()])
    flags = ds.flags
    grouped = flags.groupby("rule", sort=False)
    rules = pd.DataFrame({"severity": grouped["severity"].first(), "count": grouped.size(),
                          "example": grouped["message"].first()}).rename_axis("rule").reset_index()
    rules = rules.sort_values(["count", "rule"], ascending=[False, True]).reset_index(drop=True)
    rules.insert(1, "meaning", rule_meaning(rules["rule"], params.lang))
    items = flag_items(flags, ds.observations)
    names = ds.units.set_index("unit_code")["name"]
    by_district = _crosstab(items, "place")
    codes = by_district.index.to_series().astype(str)
    by_district.index = pd.Index(codes.map(names).fillna(codes) + " (" + codes + ")", name="district")
    listing = flags.assign(source_ids=sources_of(flags["obs_ids"], ds.observations),
                           unit_label=flags["unit_code"].map(names).fillna(flags["unit_code"]))
    facts = {"rows_in": int(tables["rows_in"].sum()), "used": int(tables["used"].sum()),
             "rejected": int(tables["rejected"].sum()), "n_flags": len(flags),
             "n_warnings": int((flags["severity"] == "warning").sum()), "data_dir": str(params.data_dir)}
    return Quality(params=params, facts=facts, tables=tables, rules=rules,
                   by_source=_crosstab(items, "source_id").reset_index(), by_district=by_district.reset_index(),
                   flags=listing[list(QUALITY_FLAG_COLUMNS)].reset_index(drop=True),
                   rejects=ds.rejects.reset_index(drop=True))


def quality_section(quality: Quality, section: str) -> list:
    """What one section of the data-quality review displays.

    Args:
        quality: From :func:`build_quality`.
        section: ``intro``, ``rules``, ``by_source``, ``by_district``,
            ``rejects`` or ``flags``.

    Returns:
        Objects for ``display(*...)``.

    Raises:
        UsageError: An unknown section.
    """
    lang, facts = quality.params.lang, quality.facts
    if section == "intro":
        return [say("quality_title", "quality_intro", "tables_heading", lang=lang, **facts),
                show_table(quality.tables, lang)]
    if section == "rules":
        return [say("rules_heading", "rules_text", lang=lang), show_table(quality.rules, lang)]
    if section in ("by_source", "by_district"):
        return [say(f"{section}_heading", f"{section}_text", lang=lang), show_table(getattr(quality, section), lang)]
    if section == "rejects":
        if quality.rejects.empty:
            return [say("rejects_heading", "rejects_none", lang=lang)]
        return [say("rejects_heading", "rejects_text", lang=lang, **facts), show_table(quality.rejects, lang)]
    if section == "flags":
        return [say("all_flags_heading", lang=lang), show_table(quality.flags, lang, QUALITY_FLAG_COLUMNS)]
    raise UsageError(f"unknown quality section {section!r}", field="section")


def quality_artifact(quality: Quality) -> dict:
    """The data-quality review's machine-readable summary.

    Returns:
        ``kind``, ``lang``, ``data_dir``, ``rows_in``, ``used``,
        ``rejected`` (totals), ``tables`` (per raw table: ``in``, ``used``,
        ``rejected``), ``flags_by_rule`` (rule → count), ``warnings``,
        ``rejects`` (every rejected row), ``by_source`` (source → rule →
        count) and ``by_district`` (``name (code)`` → rule → count).
    """
    def nested(frame: pd.DataFrame, key: str) -> dict:
        counts = frame.set_index(key).to_dict(orient="index")
        return {str(k): {rule: int(n) for rule, n in row.items() if n} for k, row in counts.items()}

    facts = quality.facts
    return {
        "kind": "data_quality", "lang": quality.params.lang, "data_dir": facts["data_dir"],
        "rows_in": facts["rows_in"], "used": facts["used"], "rejected": facts["rejected"],
        "tables": {row["table"]: {"in": row["rows_in"], "used": row["used"], "rejected": row["rejected"]}
                   for row in _records(quality.tables)},
        "flags_by_rule": {row["rule"]: row["count"] for row in _records(quality.rules)},
        "warnings": facts["n_warnings"],
        "rejects": _records(quality.rejects),
        "by_source": nested(quality.by_source, "source_id"),
        "by_district": nested(quality.by_district, "district"),
    }
