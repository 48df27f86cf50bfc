"""The article's 16 setup-checklist items (DOMAIN.md) and every checklist text, en and ja."""

# Japanese texts use full-width colons and brackets, which is correct typography there.
# ruff: noqa: RUF001

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "ja"]
Kind = Literal["verified", "attested", "both"]
"""verified: checked live (config, both systems); attested: a person records it; both: a
configured part is checked and the agreement itself is attested."""

QUARTER_DAYS = 90


@dataclass(frozen=True)
class Item:
    """One checklist item: number, slug for `setup attest`, how it is checked, texts."""

    number: int
    slug: str
    kind: Kind
    title: tuple[str, str]
    fix: tuple[str, str]
    expires_days: int | None = None

    def text(self, lang: Lang) -> str:
        """The item's title in the language."""
        return self.title[0 if lang == "en" else 1]

    def fix_text(self, lang: Lang) -> str:
        """How to fix the item, in the language."""
        return self.fix[0 if lang == "en" else 1]


def _attest(number: int, slug: str) -> tuple[str, str]:
    return (
        f"record it: leadbridge setup attest {slug} --by NAME --note '...'",
        f"実施後に記録: leadbridge setup attest {slug} --by 氏名 --note '...'",
    )


ITEMS: tuple[Item, ...] = (
    Item(1, "mql-definition", "verified",
         ("MQL definition: attribute and behaviour points configured",
          "MQLの定義：属性スコアと行動スコアの配点を設定"),
         ("write a rules file with behaviour and attribute rules and set [scoring] rules_file",
          "行動ルールと属性ルールを書いたルールファイルを作り [scoring] rules_file に設定")),
    Item(2, "mql-threshold", "verified",
         ("MQL threshold set (default 50), based on own conversion data",
          "MQLの閾値を設定（既定50点、自社の商談化データに基づく）"),
         ("calibrate on your own MQL -> SQL -> won data and write [scoring] threshold = N",
          "自社の MQL→SQL→受注 データで調整し [scoring] threshold = N を記載")),
    Item(3, "custom-fields", "verified",
         ("Custom fields added: MQL score, SQL flag, BANT status",
          "カスタム項目を追加：MQLスコア、SQLフラグ、BANTステータス"),
         ("run `leadbridge setup plan`, then `leadbridge setup apply`",
          "`leadbridge setup plan` で確認し `leadbridge setup apply` を実行")),
    Item(4, "notify-workflow", "verified",
         ("Workflow (notify): inside sales notified when the score reaches the threshold",
          "ワークフロー（通知）：スコアが閾値に達したらインサイドセールスに通知"),
         ("set [workflows] notify_inside_sales = true and inside_sales_recipients",
          "[workflows] notify_inside_sales = true と inside_sales_recipients を設定")),
    Item(5, "handover-workflow", "verified",
         ("Workflow (pass): lead passed to sales automatically when SQL",
          "ワークフロー（引き渡し）：SQLになったら営業へ自動で引き渡し"),
         ("set [workflows] handover_to_field_sales = true",
          "[workflows] handover_to_field_sales = true を設定")),
    Item(6, "nurture-sequence", "verified",
         ("Nurturing scenario: email sequence for MQL nurturing designed",
          "ナーチャリングシナリオ：MQL育成用のメールシーケンスを設計"),
         ('set [workflows] nurture_list = "the HubSpot list of the sequence"',
          '[workflows] nurture_list = "シーケンスの HubSpot リスト名" を設定')),
    Item(7, "kpi-agreement", "both",
         ("Common KPIs: MQL->SQL rate and SQL win rate agreed by both teams",
          "共通KPI：MQL→SQL移行率とSQL受注率を両チームで合意"),
         ("set both [kpi] targets, then: leadbridge setup attest kpi-agreement --by NAME",
          "[kpi] の目標を2つとも設定し leadbridge setup attest kpi-agreement --by 氏名 で記録")),
    Item(8, "sla", "verified",
         ("SLA agreed: first contact within 24 h of MQL hand-over",
          "SLA合意：MQL引き渡しから24時間以内に初回接触"),
         ("agree the response time with sales and write [sla] first_contact_hours = N",
          "営業と対応時間を合意し [sla] first_contact_hours = N を記載")),
    Item(9, "weekly-review", "attested",
         ("Weekly review meeting set up between marketing and sales",
          "マーケティングと営業の週次レビュー会議を設定"),
         _attest(9, "weekly-review")),
    Item(10, "shared-dashboard", "verified",
         ("Dashboard shared with both teams (MQL->SQL progress)",
          "両チームでダッシュボードを共有（MQL→SQLの進捗）"),
         ("publish the dashboard and set [dashboard] url; it must answer an HTTP GET",
          "ダッシュボードを公開し [dashboard] url を設定（HTTP GET に応答すること）")),
    Item(11, "target-mql-sql", "verified",
         ("Target MQL->SQL rate set", "MQL→SQL移行率の目標を設定"),
         ("write [kpi] target_mql_to_sql_rate = 0.3 (a fraction)",
          "[kpi] target_mql_to_sql_rate = 0.3（割合）を記載")),
    Item(12, "target-sql-won", "verified",
         ("Target SQL->won rate set", "SQL受注率の目標を設定"),
         ("write [kpi] target_sql_win_rate = 0.2 (a fraction)",
          "[kpi] target_sql_win_rate = 0.2（割合）を記載")),
    Item(13, "pdca", "attested",
         ("Improvement PDCA process defined for missed KPIs",
          "KPI未達時の改善PDCAプロセスを定義"),
         _attest(13, "pdca")),
    Item(14, "inside-sales", "attested",
         ("Inside sales assigned to MQL->SQL", "MQL→SQLの担当としてインサイドセールスを配置"),
         _attest(14, "inside-sales")),
    Item(15, "bant-manual", "attested",
         ("BANT hearing manual written for inside sales",
          "インサイドセールス向けBANTヒアリングマニュアルを作成"),
         _attest(15, "bant-manual")),
    Item(16, "quarterly-review", "attested",
         ("Periodic review: scoring, SLA and KPIs reviewed every quarter",
          "定期見直し：スコアリング、SLA、KPIを四半期ごとに見直し"),
         _attest(16, "quarterly-review"), expires_days=QUARTER_DAYS),
)  # fmt: skip

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("ok", "OK"),
    "missing": ("missing", "未対応"),
    "attested": ("attested", "確認済み"),
    "expired": ("expired", "期限切れ"),
}

# Evidence sentences: what was checked and where; {placeholders} are filled in by the checklist.
MESSAGES: dict[str, tuple[str, str]] = {
    "rules_unset": ("scoring.rules_file is not set in {source}",
                    "scoring.rules_file が {source} で未設定"),
    "rules_unreadable": ("{path}: {problem}", "{path}: {problem}"),
    "rules_found": ("{path}: {behaviour} behaviour and {attribute} attribute rule(s)",
                    "{path}: 行動ルール {behaviour} 件、属性ルール {attribute} 件"),
    "key_set": ("{key} = {value} (written in {source})", "{key} = {value}（{source} に記載）"),
    "key_default": ("{key} is not written in {source}; the default {value} applies unagreed",
                    "{key} は {source} に未記載（既定値 {value} が合意なしで適用）"),
    "key_unset": ("{key} is not set in {source}", "{key} が {source} で未設定"),
    "fields_object": ("{system} {object}: {ok} field(s) present and visible, {changes} to "
                      "create or grant, {conflicts} conflict(s)",
                      "{system} {object}: 存在し参照可能 {ok} 件、作成・権限付与が必要 "
                      "{changes} 件、競合 {conflicts} 件"),
    "unreachable": ("the systems could not be checked: {error}",
                    "システムを確認できません: {error}"),
    "recipients": ("workflows.notify_inside_sales = true, {count} recipient(s), at score "
                   ">= {threshold}",
                   "workflows.notify_inside_sales = true、通知先 {count} 件、スコア "
                   "{threshold} 以上で通知"),
    "flag_on": ("{key} = true (in {source})", "{key} = true（{source}）"),
    "flag_off": ("{key} is false or not set in {source}",
                 "{key} が {source} で false または未設定"),
    "dashboard_ok": ("GET {url} answered HTTP {status}", "GET {url} の応答 HTTP {status}"),
    "dashboard_bad": ("GET {url} failed: {error}", "GET {url} が失敗: {error}"),
    "attested": ("attested by {by} on {date} (state store){note}",
                 "{date} に {by} が確認（状態ストア）{note}"),
    "expired": ("last attested by {by} on {date}, more than {days} days ago",
                "最後の確認は {date}（{by}）、{days} 日以上前"),
    "not_attested": ("no attestation recorded in the state store",
                     "状態ストアに確認の記録がありません"),
}  # fmt: skip


def message(name: str, lang: Lang, /, **values: object) -> str:
    """One evidence sentence in the language."""
    en, ja = MESSAGES[name]
    return (en if lang == "en" else ja).format(**values)


def find_item(ref: str) -> Item | None:
    """An item by number ("9") or slug ("weekly-review")."""
    ref = ref.strip().lower()
    return next((i for i in ITEMS if str(i.number) == ref or i.slug == ref), None)
