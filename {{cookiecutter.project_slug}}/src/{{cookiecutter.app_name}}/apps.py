from django.apps import AppConfig


class TodoConfig(AppConfig):
    name = "{{ cookiecutter.app_name }}"
    verbose_name = "Todo items"
