{#-
  Root-project shims: models written like the seed call the package's macros
  unprefixed. dbt resolves a package's macros only with the package prefix, so these
  forward to it. (`python -m refill init` writes this file into existing projects.)
-#}
{% macro refill_safe_pre_hook() %}{{ return(refill.refill_safe_pre_hook()) }}{% endmacro %}
{% macro refill_safe_post_hook() %}{{ return(refill.refill_safe_post_hook()) }}{% endmacro %}
{% macro apply_monthly_incremental_filter(source_field, destination_field=none, add_and=false, lookback_days=1) %}
  {{- return(refill.apply_monthly_incremental_filter(source_field, destination_field, add_and, lookback_days)) -}}
{% endmacro %}
