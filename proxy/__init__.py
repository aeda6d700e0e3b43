"""The routing proxy: decides per organization, by OpenFeature flags, which app serves
each HTTP route and Discord command. It knows the apps only over HTTP."""
