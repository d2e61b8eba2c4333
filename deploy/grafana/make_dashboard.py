#!/usr/bin/env python3
"""Writes canary-judge-dashboard.json (run: python3 deploy/grafana/make_dashboard.py).

The dashboard is generated so that every query carries the same job/instance filter and the panels stay
consistent; test/deploy/grafana-dashboard.test.ts checks every query it contains against a live sidecar's
/metrics (only series that exist, only labels their definitions declare, plus Prometheus's job/instance).
"""
import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
A = f'{SEL}, analysis="$analysis"'

panels = []
next_id = [1]
y = [0]


def panel(title, kind, w, h, x, targets, description=None, field=None, options=None, **extra):
    p = {
        "id": next_id[0],
        "title": title,
        "type": kind,
        "datasource": DS,
        "gridPos": {"x": x, "y": y[0], "w": w, "h": h},
        "targets": [
            {"refId": chr(65 + i), "datasource": DS, **t} for i, t in enumerate(targets)
        ],
        "fieldConfig": field or {"defaults": {}, "overrides": []},
    }
    if description:
        p["description"] = description
    if options:
        p["options"] = options
    p.update(extra)
    next_id[0] += 1
    panels.append(p)
    return p


def row(title):
    panels.append(
        {"id": next_id[0], "type": "row", "title": title, "collapsed": False,
         "gridPos": {"x": 0, "y": y[0], "w": 24, "h": 1}, "panels": []}
    )
    next_id[0] += 1
    y[0] += 1


VERDICT_MAPPINGS = [
    {"type": "value", "options": {
        "0": {"text": "running", "color": "blue", "index": 0},
        "1": {"text": "pass", "color": "green", "index": 1},
        "2": {"text": "fail", "color": "red", "index": 2},
        "3": {"text": "inconclusive", "color": "orange", "index": 3},
    }}
]


def verdict_code(selector):
    """0 running, 1 pass, 2 fail, 3 inconclusive, per analysis (the series at 1 is the verdict it has)."""
    parts = []
    for code, verdict in enumerate(["running", "pass", "fail", "inconclusive"]):
        parts.append(
            f'{code} * max by (analysis) (canary_judge_analysis_verdict{{{selector}, verdict="{verdict}"}} == 1)'
        )
    return " or ".join(parts)


# --- Overview across analyses -------------------------------------------------------------------------
row("Overview: every analysis")
panel("Failing analyses", "stat", 4, 5, 0,
      [{"expr": f'count(canary_judge_analysis_verdict{{{SEL}, verdict="fail"}} == 1) or vector(0)',
        "legendFormat": "fail", "instant": True}],
      description="Analyses whose latest run's verdict is fail (action rollback).",
      field={"defaults": {"thresholds": {"mode": "absolute", "steps": [
          {"color": "green", "value": None}, {"color": "red", "value": 1}]}}, "overrides": []},
      options={"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}})
panel("Running analyses", "stat", 4, 5, 4,
      [{"expr": f'count(canary_judge_analysis_verdict{{{SEL}, verdict="running"}} == 1) or vector(0)',
        "legendFormat": "running", "instant": True}],
      description="Analyses whose latest run is still collecting evidence.",
      options={"colorMode": "value", "reduceOptions": {"calcs": ["lastNotNull"]}})
panel("Verdicts of every analysis", "state-timeline", 16, 5, 8,
      [{"expr": verdict_code(SEL), "legendFormat": "{{analysis}}"}],
      description="The verdict of each analysis's latest run over time.",
      field={"defaults": {"mappings": VERDICT_MAPPINGS, "color": {"mode": "thresholds"}}, "overrides": []},
      options={"showValue": "auto", "mergeValues": True})
y[0] += 5
panel("Latest run of every analysis", "table", 24, 6, 0,
      [{"expr": f"max by (analysis, revision, run_id, attempt) (canary_judge_run_info{{{SEL}}})",
        "format": "table", "instant": True},
       {"expr": f"max by (analysis) (canary_judge_run_stage{{{SEL}}})", "format": "table", "instant": True},
       {"expr": verdict_code(SEL), "format": "table", "instant": True},
       {"expr": f"min by (analysis) (canary_judge_metric_always_valid_p_value{{{SEL}}})",
        "format": "table", "instant": True}],
      description="Revision, run id, stage, verdict and the smallest always-valid p-value of each analysis.",
      transformations=[
          {"id": "merge", "options": {}},
          {"id": "organize", "options": {
              "excludeByName": {"Time": True, "Value #A": True},
              "renameByName": {"Value #B": "stage", "Value #C": "verdict",
                               "Value #D": "smallest always-valid p (worse)"}}},
      ],
      field={"defaults": {}, "overrides": [
          {"matcher": {"id": "byName", "options": "verdict"},
           "properties": [{"id": "mappings", "value": VERDICT_MAPPINGS},
                          {"id": "custom.cellOptions", "value": {"type": "color-background"}}]}]})
y[0] += 6

# --- One analysis -------------------------------------------------------------------------------------
row("Verdict: $analysis")
panel("Verdict", "stat", 4, 5, 0,
      [{"expr": verdict_code(A), "legendFormat": "{{analysis}}", "instant": True}],
      field={"defaults": {"mappings": VERDICT_MAPPINGS, "color": {"mode": "thresholds"}}, "overrides": []},
      options={"colorMode": "background", "textMode": "value", "reduceOptions": {"calcs": ["lastNotNull"]}})
panel("Run", "stat", 6, 5, 4,
      [{"expr": f"canary_judge_run_info{{{A}}}", "legendFormat": "{{revision}} (attempt {{attempt}})",
        "instant": True},
       {"expr": f"canary_judge_run_stage{{{A}}}", "legendFormat": "stage", "instant": True}],
      description="The analysis's latest run: its revision and attempt (run id in the series' labels), and its current stage.",
      options={"textMode": "value_and_name", "colorMode": "none", "reduceOptions": {"calcs": ["lastNotNull"]}})
panel("Verdict over time", "state-timeline", 14, 5, 10,
      [{"expr": verdict_code(A), "legendFormat": "{{analysis}}"}],
      field={"defaults": {"mappings": VERDICT_MAPPINGS, "color": {"mode": "thresholds"}}, "overrides": []},
      options={"showValue": "auto", "mergeValues": True})
y[0] += 5
panel("Canary share: expected vs observed", "timeseries", 12, 8, 0,
      [{"expr": f"canary_judge_expected_canary_share_ratio{{{A}}}", "legendFormat": "declared (stage)"},
       {"expr": f"canary_judge_observed_canary_share_ratio{{{A}}}", "legendFormat": "observed"}],
      description="The canary share declared for the current stage against the share observed; a mismatch fails the run (traffic split, sample-ratio mismatch).",
      field={"defaults": {"unit": "percentunit", "min": 0, "max": 1}, "overrides": [
          {"matcher": {"id": "byName", "options": "declared (stage)"},
           "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                          {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]}]})
panel("Traffic split: always-valid p-value", "timeseries", 12, 8, 12,
      [{"expr": f"canary_judge_traffic_split_always_valid_p_value{{{A}}}", "legendFormat": "split p (always-valid)"}],
      description="Running minimum of the split test's always-valid p-value over every checked stage; the run fails when it reaches judge.srmAlpha (0.001 by default).",
      field={"defaults": {"min": 0, "max": 1, "custom": {"scaleDistribution": {"type": "log", "log": 10},
                                                        "thresholdsStyle": {"mode": "line"}},
                          "thresholds": {"mode": "absolute", "steps": [
                              {"color": "red", "value": None}, {"color": "green", "value": 0.001}]}},
             "overrides": []})
y[0] += 8

row("Effect against tolerance: $analysis")
effect = panel(
    "$metric: effect, anytime-valid band and tolerance", "timeseries", 12, 9, 0,
    [{"expr": f'canary_judge_metric_effect{{{A}, metric="$metric", bound="estimate"}}', "legendFormat": "estimate"},
     {"expr": f'canary_judge_metric_effect{{{A}, metric="$metric", bound="lower"}}',
      "legendFormat": "lower bound (fail test)"},
     {"expr": f'canary_judge_metric_effect{{{A}, metric="$metric", bound="upper"}}',
      "legendFormat": "upper bound (pass test)"},
     {"expr": f'canary_judge_metric_effect_tolerance{{{A}, metric="$metric"}}', "legendFormat": "tolerance"}],
    description="Canary effect (ratio for latency, difference for error rate) with the band between the bounds that decide. The metric fails when the band is wholly above the dashed tolerance line, passes when wholly below it.",
    field={"defaults": {"unit": "none", "custom": {"fillOpacity": 0}}, "overrides": [
        {"matcher": {"id": "byName", "options": "upper bound (pass test)"},
         "properties": [{"id": "custom.fillBelowTo", "value": "lower bound (fail test)"},
                        {"id": "custom.fillOpacity", "value": 20},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "blue"}}]},
        {"matcher": {"id": "byName", "options": "lower bound (fail test)"},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "blue"}}]},
        {"matcher": {"id": "byName", "options": "estimate"},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}},
                        {"id": "custom.lineWidth", "value": 2}]},
        {"matcher": {"id": "byName", "options": "tolerance"},
         "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                        {"id": "custom.lineWidth", "value": 2}]}]},
    repeat="metric", repeatDirection="h", maxPerRow=2)
y[0] += 9

row("Evidence: $analysis")
panel("Sample progress (least arm / minimum)", "bargauge", 8, 8, 0,
      [{"expr": f"min by (analysis, metric) (canary_judge_metric_samples{{{A}}}) / max by (analysis, metric) (canary_judge_metric_min_samples{{{A}}})",
        "legendFormat": "{{metric}}", "instant": True}],
      description="Samples in the current stage of the smaller arm against the minimum each metric needs before it may pass (100% = enough).",
      field={"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                          "thresholds": {"mode": "absolute", "steps": [
                              {"color": "orange", "value": None}, {"color": "green", "value": 1}]}},
             "overrides": []},
      options={"displayMode": "gradient", "orientation": "horizontal", "reduceOptions": {"calcs": ["lastNotNull"]}})
panel("Samples per arm and metric", "timeseries", 8, 8, 8,
      [{"expr": f"canary_judge_metric_samples{{{A}}}", "legendFormat": "{{metric}} {{arm}}"},
       {"expr": f"canary_judge_metric_min_samples{{{A}}}", "legendFormat": "{{metric}} minimum"}],
      field={"defaults": {"unit": "short"}, "overrides": []})
panel("Always-valid p-values (worse than tolerance)", "timeseries", 8, 8, 16,
      [{"expr": f"canary_judge_metric_always_valid_p_value{{{A}}}", "legendFormat": "{{metric}}"}],
      description="Running minimum of each metric's always-valid p-value for 'canary worse than its tolerance': valid however often it is read. Fixed-horizon p-values are in canary_judge_metric_descriptive_fixed_horizon_p_value and are descriptive only.",
      field={"defaults": {"min": 0, "max": 1, "custom": {"scaleDistribution": {"type": "log", "log": 10}}},
             "overrides": []})
y[0] += 8
panel("Metric decisions", "state-timeline", 24, 5, 0,
      [{"expr": f'0 * max by (metric) (canary_judge_metric_decision{{{A}, decision="running"}} == 1) or 1 * max by (metric) (canary_judge_metric_decision{{{A}, decision="pass"}} == 1) or 2 * max by (metric) (canary_judge_metric_decision{{{A}, decision="fail"}} == 1)',
        "legendFormat": "{{metric}}"}],
      field={"defaults": {"mappings": VERDICT_MAPPINGS, "color": {"mode": "thresholds"}}, "overrides": []},
      options={"showValue": "auto", "mergeValues": True})
y[0] += 5

row("Arms: $analysis")
panel("Requests per arm", "timeseries", 8, 8, 0,
      [{"expr": f"canary_judge_arm_requests{{{A}}}", "legendFormat": "{{arm}}"}],
      field={"defaults": {"unit": "short"}, "overrides": []})
panel("Error rate per arm", "timeseries", 8, 8, 8,
      [{"expr": f"canary_judge_arm_error_ratio{{{A}}}", "legendFormat": "{{arm}}"}],
      field={"defaults": {"unit": "percentunit"}, "overrides": []})
panel("Latency quantiles per arm", "timeseries", 8, 8, 16,
      [{"expr": f"canary_judge_arm_latency_seconds{{{A}}}", "legendFormat": "{{arm}} p{{q}}"}],
      field={"defaults": {"unit": "s"}, "overrides": []})
y[0] += 8

row("Ingest and attribution")
panel("OTLP items received", "timeseries", 8, 8, 0,
      [{"expr": f"sum by (signal) (rate(canary_judge_otlp_items_received_total{{{SEL}}}[$__rate_interval]))",
        "legendFormat": "{{signal}}"},
       {"expr": f"sum by (signal, reason) (rate(canary_judge_otlp_items_rejected_total{{{SEL}}}[$__rate_interval]))",
        "legendFormat": "rejected {{signal}} {{reason}}"}],
      field={"defaults": {"unit": "ops"}, "overrides": []})
panel("OTLP requests by outcome", "timeseries", 8, 8, 8,
      [{"expr": f"sum by (outcome) (rate(canary_judge_otlp_requests_total{{{SEL}}}[$__rate_interval]))",
        "legendFormat": "{{outcome}}"}],
      field={"defaults": {"unit": "reqps"}, "overrides": []})
panel("Spans by attribution outcome", "timeseries", 8, 8, 16,
      [{"expr": f"sum by (outcome) (rate(canary_judge_attribution_spans_total{{{A}}}[$__rate_interval]))",
        "legendFormat": "{{outcome}}"}],
      field={"defaults": {"unit": "ops"}, "overrides": []})
y[0] += 8
panel("Attribution evictions", "timeseries", 12, 8, 0,
      [{"expr": f"sum by (store, reason) (rate(canary_judge_attribution_evictions_total{{{SEL}}}[$__rate_interval]))",
        "legendFormat": "{{store}} {{reason}}"}],
      field={"defaults": {"unit": "ops"}, "overrides": []})
panel("Judge tick duration (p99)", "timeseries", 12, 8, 12,
      [{"expr": f"histogram_quantile(0.99, sum by (le) (rate(canary_judge_judge_tick_duration_seconds_bucket{{{SEL}}}[$__rate_interval])))",
        "legendFormat": "p99"}],
      description="One judge tick evaluates every running run; compare with judge.tickIntervalMs.",
      field={"defaults": {"unit": "s"}, "overrides": []})
y[0] += 8

row("Webhooks")
panel("Webhook deliveries", "timeseries", 12, 8, 0,
      [{"expr": f"sum by (outcome) (rate(canary_judge_webhook_deliveries_total{{{SEL}}}[$__rate_interval]))",
        "legendFormat": "{{outcome}}"}],
      field={"defaults": {"unit": "ops"}, "overrides": []})
panel("Webhook events pending", "timeseries", 12, 8, 12,
      [{"expr": f"canary_judge_webhook_pending{{{SEL}}}", "legendFormat": "pending"}],
      field={"defaults": {"unit": "short"}, "overrides": []})

variables = [
    {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
     "current": {}, "hide": 0, "refresh": 1, "options": []},
]


def query_variable(name, label, definition, multi=False, include_all=False):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": definition, "refId": name}, "definition": definition, "refresh": 2,
            "sort": 1, "multi": multi, "includeAll": include_all,
            **({"allValue": ".*"} if include_all else {}), "current": {}, "options": [], "hide": 0}


variables += [
    query_variable("job", "Job", "label_values(canary_judge_analysis_verdict, job)", multi=True, include_all=True),
    query_variable("instance", "Instance", 'label_values(canary_judge_analysis_verdict{job=~"$job"}, instance)',
                   multi=True, include_all=True),
    query_variable("analysis", "Analysis",
                   'label_values(canary_judge_analysis_verdict{job=~"$job", instance=~"$instance"}, analysis)'),
    query_variable("metric", "Metric",
                   'label_values(canary_judge_metric_effect{job=~"$job", instance=~"$instance", analysis="$analysis"}, metric)',
                   multi=True, include_all=True),
]

annotations = [
    {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
     "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
    {"name": "Verdict changes", "datasource": DS, "enable": True, "iconColor": "red",
     "expr": f"(canary_judge_analysis_verdict{{{A}}} == 1) and (changes(canary_judge_analysis_verdict{{{A}}}[2m]) > 0)",
     "step": "30s", "titleFormat": "verdict {{verdict}}", "textFormat": "analysis {{analysis}}",
     "tagKeys": "verdict,analysis", "useValueForTime": False},
    {"name": "Run starts", "datasource": DS, "enable": True, "iconColor": "blue",
     "expr": f"canary_judge_run_info{{{A}}} unless (canary_judge_run_info{{{A}}} offset 1m)",
     "step": "30s", "titleFormat": "run {{run_id}}", "textFormat": "revision {{revision}}, attempt {{attempt}}",
     "tagKeys": "revision", "useValueForTime": False},
]

dashboard = {
    "title": "canary-judge",
    "uid": "canary-judge",
    "description": "Verdicts of every canary-judge analysis, and for one analysis the effect of each metric against its tolerance with the anytime-valid band that decides, the traffic split, the sample progress and the sidecar's ingest and webhook health. Uses only series canary-judge exports on /metrics.",
    "tags": ["canary-judge", "canary", "progressive-delivery"],
    "schemaVersion": 39,
    "version": 2,
    "editable": True,
    "time": {"from": "now-1h", "to": "now"},
    "refresh": "10s",
    "timezone": "",
    "templating": {"list": variables},
    "annotations": {"list": annotations},
    "panels": panels,
}

out = Path(__file__).with_name("canary-judge-dashboard.json")
out.write_text(json.dumps(dashboard, indent=2) + "\n")
print(f"wrote {out} ({len(panels)} panels)")
