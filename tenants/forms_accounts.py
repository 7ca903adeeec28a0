from django import forms

from .accounts import invitable_roles


class EmailForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class TokenForm(forms.Form):
    token = forms.CharField(label="Code", max_length=16, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=invitable_roles)


class SchoolTwoFactorForm(forms.Form):
    require_two_factor = forms.BooleanField(
        required=False, label="Require two-factor sign-in for every role that sees safeguarding "
                              "data")
